#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/config.h"

namespace medvqa::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// AdamW over `trainable` with the config's lr, betas, eps and weight decay; biases, norms, other
// vectors and the Q-Former's query tokens take no weight decay (the usual grouping).
std::unique_ptr<torch::optim::AdamW> make_adamw(const NamedTensors& trainable, const TrainConfig& config);

void set_learning_rate(torch::optim::AdamW& optimizer, double lr);

}  // namespace medvqa::train
