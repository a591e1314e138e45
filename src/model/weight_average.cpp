#include "model/weight_average.h"

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

void check_weight(double weight, const std::string& label) {
  if (!(weight >= 0)) throw Error("averaging weights: the weight of " + label + " is negative or not a number");
}

}  // namespace

WeightAverage::WeightAverage(MedVqaModel first, double weight, std::string label)
    : first_(std::move(first)), first_label_(std::move(label)) {
  for (auto& [name, t] : state_of(first_)) sums_.emplace_back(name, torch::Tensor());
  add(first_, weight, first_label_);
}

void WeightAverage::add(MedVqaModel& model, double weight, const std::string& label) {
  check_weight(weight, label);
  auto state = state_of(model);
  if (state.size() != sums_.size())
    throw Error("averaging weights: " + label + " has " + std::to_string(state.size()) + " tensors, " + first_label_ +
                " " + std::to_string(sums_.size()));
  const auto reference = state_of(first_);
  for (size_t k = 0; k < state.size(); ++k) {
    const auto& [name, t] = state[k];
    if (name != sums_[k].first)
      throw Error("averaging weights: " + label + " has '" + name + "' where " + first_label_ + " has '" +
                  sums_[k].first + "'");
    if (t.sizes() != reference[k].second.sizes())
      throw Error("averaging weights: '" + name + "' has shape " + c10::str(t.sizes()) + " in " + label + " and " +
                  c10::str(reference[k].second.sizes()) + " in " + first_label_);
  }
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < state.size(); ++k) {
    const torch::Tensor& t = state[k].second;
    if (!t.is_floating_point()) continue;  // integer buffers (position ids) are the same in every run
    auto scaled = t.to(torch::kCPU, torch::kFloat32) * weight;
    torch::Tensor& sum = sums_[k].second;
    sum = sum.defined() ? sum.add_(scaled) : scaled;
  }
  total_weight_ += weight;
}

MedVqaModel WeightAverage::finish() {
  if (!(total_weight_ > 0)) throw Error("averaging weights: the weights sum to zero");
  torch::NoGradGuard no_grad;
  auto state = state_of(first_);
  for (size_t k = 0; k < state.size(); ++k)
    if (sums_[k].second.defined()) state[k].second.copy_(sums_[k].second / total_weight_);
  sums_.clear();
  return first_;
}

}  // namespace medvqa::model
