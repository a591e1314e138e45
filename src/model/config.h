#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace medvqa::model {

// Configs are plain structs read from the JSON files the reference libraries write, so a
// downloaded model directory loads without conversion. Unknown fields are ignored; missing
// fields take the reference library's default.

// transformers BloomConfig.
struct BloomConfig {
  int64_t vocab_size = 250880;
  int64_t hidden_size = 64;  // alias n_embed
  int64_t n_layer = 2;
  int64_t n_head = 8;  // alias num_attention_heads
  double layer_norm_epsilon = 1e-5;
  bool apply_residual_connection_post_layernorm = false;
  // transformers' hidden_dropout: each block's attention and MLP output dropped out before its
  // residual is added, in training only (a regulariser for fine-tuning on a few thousand questions).
  double hidden_dropout = 0.0;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  int64_t pad_token_id = 3;

  int64_t head_dim() const { return hidden_size / n_head; }
  static BloomConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// transformers Blip2QFormerConfig (the parts a query-only Q-Former uses).
struct QFormerConfig {
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t cross_attention_frequency = 2;
  int64_t encoder_hidden_size = 1408;
  double layer_norm_eps = 1e-12;
  // The std of the Q-Former's weights when it starts untrained (create_medvqa), as transformers'
  // Blip2QFormerConfig.initializer_range. BERT's 0.02 suits a Q-Former that BLIP-2's first stage
  // pre-trains; a narrow one trained from scratch needs more (configs/models/small.json).
  double initializer_range = 0.02;

  static QFormerConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// open_clip TimmModel around a timm VisionTransformer, as BiomedCLIP builds it.
struct VisionConfig {
  std::string timm_model_name = "vit_base_patch16_224";
  int64_t image_size = 224;
  int64_t patch_size = 16;
  int64_t width = 768;  // timm embed_dim
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  double layer_norm_eps = 1e-6;
  int64_t embed_dim = 512;  // CLIP embedding size after the head projection
  std::array<float, 3> mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std = {0.26862954f, 0.26130258f, 0.27577711f};

  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  // Reads open_clip_config.json's layout ({"model_cfg": {...}, "preprocess_cfg": {...}}) or a bare
  // model_cfg. Sizes come from the timm model name (known names, or *_patchP_S names for patch and
  // image size) and may be overridden by `vision_cfg.timm_model_args` (timm's kwarg names).
  static VisionConfig from_open_clip_json(const nlohmann::json& j);
  nlohmann::json to_open_clip_json() const;
};

// PEFT LoraConfig.
struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0.0;
  std::vector<std::string> target_modules = {"query_key_value"};
  bool use_rslora = false;
  bool fan_in_fan_out = false;
  std::string bias = "none";

  double scaling() const;
  static LoraConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json(const std::string& base_model_name_or_path = "") const;
};

// The fused model: vision tower → Q-Former → projection → BLOOM, in medvqa's config.json.
struct MedVqaConfig {
  VisionConfig vision;
  QFormerConfig qformer;
  BloomConfig text;
  int64_t num_query_tokens = 32;
  std::string prompt_template = "Question: {question} Answer:";
  int64_t max_new_tokens = 16;
  // Whether a follow-up's prompt carries the earlier turns of the conversation. A model trained on
  // single questions answers follow-ups far worse with them (SLAKE-en validate: 48% against 75%),
  // so it asks each question alone; training with follow-ups (history_probability) turns it on.
  bool follow_ups_in_prompt = false;

  // Reads medvqa's own config.json, or a transformers Blip2Config (whose vision_config is then
  // replaced by `vision`, since medvqa's vision tower is open_clip's).
  static MedVqaConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

nlohmann::json read_json_file(const std::string& path);

}  // namespace medvqa::model
