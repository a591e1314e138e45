#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/config.h"

namespace medvqa::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// AdamW whose parameter groups each run at a multiple of the schedule's learning rate.
struct Optimizer {
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::vector<double> lr_scales;  // one per adamw->param_groups(), in order

  // Every group's lr becomes lr × its scale.
  void set_learning_rate(double lr);
};

// AdamW over `trainable` with the config's lr, betas, eps and weight decay; biases, norms, other
// vectors and the Q-Former's query tokens take no weight decay (the usual grouping). A parameter
// whose name starts with a key of config.lr_scales runs at that multiple of the lr (the longest
// such key wins); a key that matches no trainable parameter is an error naming it.
Optimizer make_adamw(const NamedTensors& trainable, const TrainConfig& config);

}  // namespace medvqa::train
