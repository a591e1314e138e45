#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "model/config.h"

namespace medvqa::train {

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
  double weight_decay = 0.05;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t warmup_steps = 100;
  int64_t max_steps = 1000;
  double min_lr_ratio = 0.1;
  int64_t batch_size = 16;
  int64_t grad_accum = 1;
  double grad_clip = 1.0;
  // "bfloat16": autocast matmuls to bf16, fp32 master weights; "auto" (resolved when read): bf16
  // on a GPU or a CPU with AVX512-BF16, else float32.
  std::string dtype = "float32";
  // "cpu", "cuda" or "cuda:N". Data-parallel ranks given "cuda" take cuda:LOCAL_RANK.
  std::string device = "cpu";
  uint64_t seed = 0;
  int threads = 0;
  int loader_threads = 2;

  // Augmentation (training only): random resized crop scale range, horizontal flip probability,
  // brightness/contrast jitter.
  double crop_scale_min = 1.0;
  double flip_probability = 0.0;
  double color_jitter = 0.0;

  int64_t log_every = 10;
  int64_t eval_every = 200;
  int64_t eval_limit = 0;          // evaluate on the first N validation questions (0: all)
  bool eval_blank_images = false;  // also evaluate with every image blank (the image-use control)
  int64_t checkpoint_every = 100;
  int64_t early_stopping_patience = 0;  // evaluations without improvement before stopping (0: never)

  static TrainConfig from_json(const nlohmann::json& j, const std::string& base_dir);
  static TrainConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
};

}  // namespace medvqa::train
