#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

#include "train/config.h"

namespace medvqa::train {

// What a pre-training stage (kind "contrastive" or "language_model") trains, apart from the loop
// that every such stage shares (run_pretraining).
class PretrainingObjective {
 public:
  virtual ~PretrainingObjective() = default;
  virtual torch::nn::Module& module() = 0;
  // Mean loss of step `step`'s batch. The batch is drawn from (config seed, step) alone, so a
  // resumed run draws exactly the batches an uninterrupted one would.
  virtual torch::Tensor loss(int64_t step) = 0;
  // Validation figures; "metric" (higher is better) selects the best model.
  virtual nlohmann::json evaluate() = 0;
  // The stage's result, in the format the next stage reads (an open_clip or a BLOOM directory).
  virtual void save(const std::string& dir) = 0;
  // Copies weights that `save` wrote into the module's parameters.
  virtual void load(const std::string& dir) = 0;
};

// Copies every parameter of `from` into the parameter of `to` with the same name (both modules of
// one architecture, e.g. a reloaded result into the module the optimizer refers to).
void copy_parameters(torch::nn::Module& from, torch::nn::Module& to);

// AdamW with the stage's schedule over every parameter of the objective's module; logs to
// output_dir/metrics.jsonl; evaluates before the first step (the untrained reference) and every
// eval_every steps, and keeps the best result in output_dir/best; writes output_dir/checkpoint (result + optimizer + step) atomically every
// checkpoint_every steps, which `resume` continues from. `stop_after` (> 0) ends the call after
// that many steps, as if the run were killed (tests). Returns the last step.
int64_t run_pretraining(PretrainingObjective& objective, const TrainConfig& config, bool resume, bool verbose,
                        int64_t stop_after = 0);

}  // namespace medvqa::train
