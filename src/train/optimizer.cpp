#include "train/optimizer.h"

namespace medvqa::train {

std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedTensors& trainable, const TrainConfig& config) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& [name, t] : trainable) (t.dim() >= 2 && name != "query_tokens" ? decay : no_decay).push_back(t);
  auto options = torch::optim::AdamWOptions(config.lr)
                     .betas({config.beta1, config.beta2})
                     .eps(config.eps)
                     .weight_decay(config.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(options));
  auto no_decay_options = options;
  no_decay_options.weight_decay(0.0);
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(no_decay_options));
  return std::make_unique<torch::optim::AdamW>(groups, options);
}

void set_learning_rate(torch::optim::AdamW& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

}  // namespace medvqa::train
