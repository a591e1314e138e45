#pragma once
#include <torch/torch.h>

#include "model/medvqa_model.h"
#include "train/batch.h"

namespace medvqa::train {

// Cross-entropy of each target token of the batch, flat: the loss covers answer tokens only, and
// the vocabulary projection (the costliest matmul of a small model) runs only where a target
// token is predicted. With label_smoothing e the target is (1-e) on the answer token and e spread
// evenly over the vocabulary (as torch's cross_entropy does).
torch::Tensor answer_token_losses(model::MedVqaModel& model, const Batch& batch, double label_smoothing = 0.0);

}  // namespace medvqa::train
