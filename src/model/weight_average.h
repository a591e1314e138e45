#pragma once
#include <string>
#include <utility>
#include <vector>

#include "model/medvqa_model.h"

namespace medvqa::model {

// Weight averaging ("model soups", Wortsman et al. 2022; checkpoint averaging): runs fine-tuned
// from one initialisation stay in one loss basin, where the mean of their weights tends to
// generalise better than each run. Models are added one at a time, so only the first model and
// one fp32 sum per tensor are held, whatever the number of models. Every model must have the
// first one's parameter names and shapes; the error for a mismatch names the tensor and the model.
class WeightAverage {
 public:
  // `first` receives the mean in finish(); its structure is the one every other model must match.
  WeightAverage(MedVqaModel first, double weight, std::string label);
  void add(MedVqaModel& model, double weight, const std::string& label);
  // The first model with its parameters and floating-point buffers replaced by
  // sum_i weight_i * model_i / sum_i weight_i.
  MedVqaModel finish();

 private:
  MedVqaModel first_;
  std::string first_label_;
  std::vector<std::pair<std::string, torch::Tensor>> sums_;  // per tensor of first_, fp32
  double total_weight_ = 0;
};

}  // namespace medvqa::model
