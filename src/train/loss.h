#pragma once
#include <torch/torch.h>

#include "model/medvqa_model.h"
#include "train/batch.h"

namespace medvqa::train {

// Cross-entropy of each target token of the batch, flat: the loss covers answer tokens only, and
// the vocabulary projection (the costliest matmul of a small model) runs only where a target
// token is predicted.
torch::Tensor answer_token_losses(model::MedVqaModel& model, const Batch& batch);

}  // namespace medvqa::train
