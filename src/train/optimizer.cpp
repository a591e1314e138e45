#include "train/optimizer.h"

#include <map>

#include "io/error.h"

namespace medvqa::train {

void Optimizer::set_learning_rate(double lr) {
  auto& groups = adamw->param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(lr * lr_scales.at(i));
}

Optimizer make_adamw(const NamedTensors& trainable, const TrainConfig& config) {
  // (scale, takes no decay) -> the group's tensors: std::map keeps the groups in one order (at
  // scale 1, the decayed group first), which the saved optimizer state relies on.
  std::map<std::pair<double, bool>, std::vector<torch::Tensor>> groups;
  std::map<std::string, bool> used;
  for (const auto& [key, _] : config.lr_scales) used[key] = false;
  for (const auto& [name, t] : trainable) {
    double scale = 1.0;
    size_t matched = 0;
    for (const auto& [key, value] : config.lr_scales)
      if (name.rfind(key, 0) == 0 && key.size() > matched) {
        scale = value;
        matched = key.size();
        used[key] = true;
      }
    const bool decays = t.dim() >= 2 && name != "query_tokens";
    groups[{scale, !decays}].push_back(t);
  }
  for (const auto& [key, was_used] : used)
    if (!was_used)
      throw Error("training config '" + config.name + "': lr_scales key '" + key +
                  "' is the start of no trainable parameter's name");
  auto options = torch::optim::AdamWOptions(config.lr)
                     .betas({config.beta1, config.beta2})
                     .eps(config.eps)
                     .weight_decay(config.weight_decay);
  Optimizer optimizer;
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (auto& [key, tensors] : groups) {
    auto group_options = options;
    group_options.lr(config.lr * key.first).weight_decay(key.second ? 0.0 : config.weight_decay);
    param_groups.emplace_back(tensors, std::make_unique<torch::optim::AdamWOptions>(group_options));
    optimizer.lr_scales.push_back(key.first);
  }
  optimizer.adamw = std::make_unique<torch::optim::AdamW>(param_groups, options);
  return optimizer;
}

}  // namespace medvqa::train
