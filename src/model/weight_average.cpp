#include "model/weight_average.h"

#include <numeric>

#include "io/error.h"

namespace medvqa::model {
namespace {

// Parameters and buffers by name: a module's whole state as save_medvqa writes it.
std::vector<std::pair<std::string, torch::Tensor>> state_of(MedVqaModel& m) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (auto& p : m->named_parameters()) state.emplace_back(p.key(), p.value());
  for (auto& b : m->named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

}  // namespace

void average_weights(std::vector<MedVqaModel>& models, std::vector<double> weights,
                     const std::vector<std::string>& labels) {
  if (models.empty()) throw Error("averaging weights: no model given");
  if (weights.empty()) weights.assign(models.size(), 1.0);
  if (weights.size() != models.size() || labels.size() != models.size())
    throw Error("averaging weights: " + std::to_string(models.size()) + " models but " +
                std::to_string(weights.size()) + " weights and " + std::to_string(labels.size()) + " labels");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!(weights[i] >= 0)) throw Error("averaging weights: the weight of " + labels[i] + " is negative or not a number");
  double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (!(total > 0)) throw Error("averaging weights: the weights sum to zero");

  auto target = state_of(models[0]);
  std::vector<std::vector<std::pair<std::string, torch::Tensor>>> states;
  for (auto& m : models) states.push_back(state_of(m));
  for (size_t i = 1; i < models.size(); ++i) {
    if (states[i].size() != target.size())
      throw Error("averaging weights: " + labels[i] + " has " + std::to_string(states[i].size()) + " tensors, " +
                  labels[0] + " " + std::to_string(target.size()));
    for (size_t k = 0; k < target.size(); ++k) {
      const auto& [name, t] = states[i][k];
      if (name != target[k].first)
        throw Error("averaging weights: " + labels[i] + " has '" + name + "' where " + labels[0] + " has '" +
                    target[k].first + "'");
      if (t.sizes() != target[k].second.sizes())
        throw Error("averaging weights: '" + name + "' has shape " + c10::str(t.sizes()) + " in " + labels[i] +
                    " and " + c10::str(target[k].second.sizes()) + " in " + labels[0]);
    }
  }

  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < target.size(); ++k) {
    torch::Tensor& out = target[k].second;
    if (!out.is_floating_point()) continue;  // integer buffers (position ids) are the same in every run
    auto sum = torch::zeros(out.sizes(), out.options().dtype(torch::kFloat32));
    for (size_t i = 0; i < models.size(); ++i)
      sum.add_(states[i][k].second.to(out.device(), torch::kFloat32), weights[i] / total);
    out.copy_(sum);
  }
}

}  // namespace medvqa::model
