#pragma once
#include <torch/torch.h>

#include "model/medvqa_model.h"
#include "train/batch.h"

namespace medvqa::train {

// Matmuls in bf16 with fp32 master weights, for as long as the guard lives (autocast on the
// device the model computes on). Guards nest: the outer one's state comes back.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, torch::Device device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_, was_enabled_ = false;
  c10::DeviceType type_;
};

// Cross-entropy of each target token of the batch, flat: the loss covers answer tokens only, and
// the vocabulary projection (the costliest matmul of a small model) runs only where a target
// token is predicted.
torch::Tensor answer_token_losses(model::MedVqaModel& model, const Batch& batch);

}  // namespace medvqa::train
