#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "train/metrics_log.h"
#include "model/medvqa_model.h"
#include "text/tokenizer.h"
#include "train/batch.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/epoch_order.h"
#include "train/optimizer.h"
#include "train/samples.h"

namespace medvqa::train {

// What a checkpoint must hold, besides model and optimizer, for a resumed run to continue
// exactly: the step and the data position (the order of each epoch is a seeded permutation and
// every step reseeds the generators from (seed, step), so no generator state needs saving).
struct TrainerState {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t cursor = 0;  // next position in the epoch's order
  double best_metric = -1;
  int64_t best_step = -1;
  int64_t evals_without_improvement = 0;
};

struct StepMetrics {
  int64_t step;
  double loss, lr, grad_norm, samples_per_second;
  // Gradient norm (before clipping) of the trainable parameters of each part: "visual",
  // "qformer" (with the query tokens), "language_projection", "language_model".
  std::map<std::string, double> part_grad_norms;
};

struct EvalMetrics {
  double loss = 0;
  int64_t n = 0, n_closed = 0, n_open = 0;
  double overall = 0, closed = 0, open = 0;  // normalized exact match
  std::vector<eval::Prediction> predictions;  // each validation question's answer, in order
};

// The training loop of one stage (medvqa train --config FILE).
//
// Data-parallel when given a Communicator: every rank walks the same global order, takes its
// own slice of each global batch (batch_size samples per rank), and the gradients are summed
// across ranks. The loss is normalized by the target tokens of the whole global step (all
// micro-batches, all ranks), so N ranks × batch b × accumulation k trains exactly as one process
// with batch N·b·k. Rank 0 evaluates, logs and writes checkpoints.
class Trainer {
 public:
  explicit Trainer(TrainConfig config, bool verbose = true, std::shared_ptr<Communicator> communicator = nullptr);

  // Continues from output_dir/checkpoint when `resume` and one exists. `stop_after` (>0) ends
  // the run after that many optimizer steps in this call, as if it were killed (for tests).
  void run(bool resume, int64_t stop_after = 0);

  // One optimizer step (grad_accum micro-batches on every rank); returns the mean token loss.
  StepMetrics step();
  // Validation loss and exact match; with `blank_images`, every image replaced by a uniform gray
  // one (the control that shows whether the answers depend on the image).
  EvalMetrics evaluate(int64_t limit, bool blank_images = false);
  // Cross-entropy of each target token of the batch, flat: the loss covers answer tokens only.
  torch::Tensor token_losses(const Batch& batch, double label_smoothing);

  void save_checkpoint();
  void load_checkpoint();

  const TrainerState& state() const { return state_; }
  model::MedVqaModel& model() { return model_; }
  torch::Device device() const { return device_; }
  const std::vector<std::pair<std::string, torch::Tensor>>& trainable() const { return trainable_; }

 private:
  Batch next_batch();
  void set_trainable();
  void build_optimizer();
  bool evaluate_and_select(bool tty);
  void save_best();  // output_dir/best: a model directory that `ask`, `eval` and the next stage load
  MetricsLog metrics_log() const;
  void append_metrics(const nlohmann::json& line);
  std::string checkpoint_dir() const;
  bool is_writer() const { return communicator_ == nullptr || communicator_->rank() == 0; }
  int world_size() const { return communicator_ ? communicator_->world_size() : 1; }

  TrainConfig config_;
  bool verbose_;
  std::shared_ptr<Communicator> communicator_;
  torch::Device device_;
  model::MedVqaModel model_{nullptr};
  std::optional<text::Tokenizer> tokenizer_;
  image::PreprocessConfig preprocess_;
  TextFormat format_;
  Augmentation augmentation_;
  std::vector<Sample> train_, validation_;
  std::vector<TokenizedSample> train_tokens_, validation_tokens_;
  std::unique_ptr<ImageCache> images_;
  EpochOrder order_{0, 0};
  std::vector<std::pair<std::string, torch::Tensor>> trainable_;
  Optimizer optimizer_;
  TrainerState state_;
};

}  // namespace medvqa::train
