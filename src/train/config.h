#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"

namespace medvqa::train {

// The compute dtype a config asks for (JSON "float32", "bfloat16" or "auto"). bfloat16 autocasts
// matmuls to bf16 with fp32 master weights; auto is bf16 where it is fast (a GPU, or a CPU with
// AVX512-BF16, ~400 GFLOP/s) and float32 elsewhere (bf16 GEMMs without that instruction run at a
// few GFLOP/s), resolved against the device the run uses (TrainConfig::compute_dtype).
enum class DtypeChoice { kAuto, kFloat32, kBFloat16 };
void to_json(nlohmann::json& j, DtypeChoice d);
void from_json(const nlohmann::json& j, DtypeChoice& d);  // an unknown name is an error naming it

// One dataset in a stage's mixture. `format` is a reader name (data/readers.h): VQA formats
// ("vqa-rad", "slake", "vqa-med-2019", "pmc-vqa") or caption formats ("medpix", "pmc-oa").
struct DataSource {
  std::string format;
  std::string path;            // questions / captions file
  std::string images;          // images directory; empty: the release's own layout
  std::vector<std::string> languages = {"en"};
  double weight = 1.0;         // relative sampling weight in the mixture (repeats per epoch)
  // Hold out a fraction of the images (split by image, deterministic) — for VQA-RAD, which has
  // no validation split. `holdout_side` selects which side this source uses: "train" or "val".
  double holdout_fraction = 0.0;
  std::string holdout_side = "train";
  uint64_t holdout_seed = 0;
  int64_t limit = 0;           // use only the first N rows (0: all), for quick runs and tests
};

struct TrainConfig {
  std::string name = "run";
  // What the stage trains: "vqa" (the medvqa model on questions or captions: stages 1-3),
  // "contrastive" (the vision tower against a text tower, CLIP's loss: contrastive_pretraining.h)
  // or "language_model" (BLOOM on text alone: language_pretraining.h).
  std::string kind = "vqa";
  std::string output_dir = "runs/run";

  // Starting point: an existing model directory (e.g. the previous stage's best), or a model
  // config + tokenizer to initialise from scratch.
  std::string init_model;
  std::string model_config;
  std::string tokenizer;
  uint64_t init_seed = 0;

  std::vector<DataSource> train;
  std::vector<DataSource> validation;

  std::string caption_prompt = "Caption:";
  std::optional<std::string> prompt_template;  // overrides the model's when set
  int64_t max_prompt_tokens = 48;
  int64_t max_target_tokens = 24;

  // Which parameters train: prefixes of parameter names ("qformer.", "query_tokens",
  // "language_projection.", "visual.", "language_model."), or "lora" for every LoRA branch,
  // or "*" for everything. The paper's stages: qformer + projection + lora.
  std::vector<std::string> trainable = {"query_tokens", "qformer.", "language_projection.", "lora"};
  std::optional<model::LoraConfig> lora;  // add fresh LoRA branches to the language model

  // kind "contrastive": the text tower's BLOOM config (vocab_size, hidden_size, n_layer, n_head;
  // default: the model config's text_config), and how many of an image's statements make a text.
  std::optional<nlohmann::json> text_tower;
  int64_t max_statements = 4;
  // kind "language_model": tokens per training sequence, and the share of documents held out
  // (by a hash of their text) for validation perplexity.
  int64_t sequence_length = 64;
  double validation_fraction = 0.05;

  double lr = 1e-4;
  // Multipliers of lr for the parameters whose names start with a key ("qformer.": 5): parts
  // trained from scratch beside pre-trained ones. The longest matching key wins.
  std::map<std::string, double> lr_scales;
  double weight_decay = 0.05;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t warmup_steps = 100;
  int64_t max_steps = 1000;
  double min_lr_ratio = 0.1;
  int64_t batch_size = 16;
  int64_t grad_accum = 1;
  double grad_clip = 1.0;
  // Share of each answer token's target spread over the vocabulary (training steps only; the
  // validation loss stays plain cross-entropy).
  double label_smoothing = 0.0;
  DtypeChoice dtype = DtypeChoice::kFloat32;
  // JSON "cpu", "cuda" or "cuda:N" (checked when read; whether this machine has it, when the run
  // starts). Data-parallel ranks given "cuda" (no index) take cuda:LOCAL_RANK.
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
  int threads = 0;
  int loader_threads = 2;

  // Augmentation (training only): random resized crop scale range, horizontal flip probability,
  // brightness/contrast jitter.
  double crop_scale_min = 1.0;
  double flip_probability = 0.0;
  double color_jitter = 0.0;
  // Follow-up questions: this fraction of the VQA samples is asked after 1..history_max_turns other
  // questions about the same image with their answers, in the prompt chat follow-ups get
  // (infer::conversation_prompt), drawn once per run from `seed`; the loss stays on the answer.
  double history_probability = 0.0;
  int64_t history_max_turns = 3;

  int64_t log_every = 10;
  int64_t eval_every = 200;
  int64_t eval_limit = 0;          // evaluate on the first N validation questions (0: all)
  bool eval_blank_images = false;  // also evaluate with every image blank (the image-use control)
  int64_t checkpoint_every = 100;
  int64_t early_stopping_patience = 0;  // evaluations without improvement before stopping (0: never)

  // The dtype the run computes in: `dtype`, with auto resolved for `device`.
  torch::Dtype compute_dtype() const;

  static TrainConfig from_json(const nlohmann::json& j, const std::string& base_dir);
  static TrainConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
};

}  // namespace medvqa::train
