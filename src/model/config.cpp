#include "model/config.h"

#include <cmath>
#include <regex>

#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::model {
namespace {

using json = nlohmann::json;

// j[key] if present (trying aliases in order), else `fallback`; a wrong type is an error naming the key.
template <typename T>
T field(const json& j, std::initializer_list<const char*> keys, T fallback) {
  for (const char* k : keys) {
    if (j.contains(k) && !j[k].is_null()) {
      try {
        return j[k].get<T>();
      } catch (const json::exception&) {
        throw Error(std::string("config field '") + k + "' has the wrong type: " + j[k].dump());
      }
    }
  }
  return fallback;
}

void require_positive(int64_t v, const char* name) {
  if (v <= 0) throw Error(std::string("config field '") + name + "' must be positive, got " + std::to_string(v));
}

struct TimmFamily {
  const char* name;
  int64_t width, depth, heads;
};
// timm's ViT families (vision_transformer.py model_args).
constexpr TimmFamily kTimmFamilies[] = {
    {"vit_tiny", 192, 12, 3},    {"vit_small", 384, 12, 6},  {"vit_medium", 512, 12, 8},
    {"vit_base", 768, 12, 12},   {"vit_large", 1024, 24, 16}, {"vit_huge", 1280, 32, 16},
};

}  // namespace

json read_json_file(const std::string& path) {
  try {
    return json::parse(io::read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
}

BloomConfig BloomConfig::from_json(const json& j) {
  BloomConfig c;
  c.vocab_size = field(j, {"vocab_size"}, c.vocab_size);
  c.hidden_size = field(j, {"hidden_size", "n_embed"}, c.hidden_size);
  c.n_layer = field(j, {"n_layer", "num_hidden_layers"}, c.n_layer);
  c.n_head = field(j, {"n_head", "num_attention_heads"}, c.n_head);
  c.layer_norm_epsilon = field(j, {"layer_norm_epsilon"}, c.layer_norm_epsilon);
  c.apply_residual_connection_post_layernorm =
      field(j, {"apply_residual_connection_post_layernorm"}, c.apply_residual_connection_post_layernorm);
  c.hidden_dropout = field(j, {"hidden_dropout"}, c.hidden_dropout);
  if (!(c.hidden_dropout >= 0 && c.hidden_dropout < 1))
    throw Error("BLOOM config: hidden_dropout must be in [0, 1), not " + std::to_string(c.hidden_dropout));
  c.bos_token_id = field(j, {"bos_token_id"}, c.bos_token_id);
  c.eos_token_id = field(j, {"eos_token_id"}, c.eos_token_id);
  c.pad_token_id = field(j, {"pad_token_id"}, c.pad_token_id);
  require_positive(c.vocab_size, "vocab_size");
  require_positive(c.hidden_size, "hidden_size");
  require_positive(c.n_layer, "n_layer");
  require_positive(c.n_head, "n_head");
  if (c.hidden_size % c.n_head != 0)
    throw Error("BLOOM config: hidden_size " + std::to_string(c.hidden_size) + " is not divisible by n_head " +
                std::to_string(c.n_head));
  if (field(j, {"pretraining_tp"}, int64_t{1}) != 1 && field(j, {"slow_but_exact"}, false))
    throw Error("BLOOM config: slow_but_exact tensor-parallel emulation is not supported");
  return c;
}

json BloomConfig::to_json() const {
  return {{"model_type", "bloom"},
          {"architectures", {"BloomForCausalLM"}},
          {"vocab_size", vocab_size},
          {"hidden_size", hidden_size},
          {"n_layer", n_layer},
          {"n_head", n_head},
          {"layer_norm_epsilon", layer_norm_epsilon},
          {"apply_residual_connection_post_layernorm", apply_residual_connection_post_layernorm},
          {"hidden_dropout", hidden_dropout},
          {"bos_token_id", bos_token_id},
          {"eos_token_id", eos_token_id},
          {"pad_token_id", pad_token_id},
          {"pretraining_tp", 1},
          {"slow_but_exact", false}};
}

QFormerConfig QFormerConfig::from_json(const json& j) {
  QFormerConfig c;
  c.hidden_size = field(j, {"hidden_size"}, c.hidden_size);
  c.num_hidden_layers = field(j, {"num_hidden_layers"}, c.num_hidden_layers);
  c.num_attention_heads = field(j, {"num_attention_heads"}, c.num_attention_heads);
  c.intermediate_size = field(j, {"intermediate_size"}, c.intermediate_size);
  c.cross_attention_frequency = field(j, {"cross_attention_frequency"}, c.cross_attention_frequency);
  c.encoder_hidden_size = field(j, {"encoder_hidden_size"}, c.encoder_hidden_size);
  c.layer_norm_eps = field(j, {"layer_norm_eps"}, c.layer_norm_eps);
  c.initializer_range = field(j, {"initializer_range"}, c.initializer_range);
  if (!(c.initializer_range > 0)) throw Error("qformer_config.initializer_range must be positive");
  require_positive(c.hidden_size, "hidden_size");
  require_positive(c.num_hidden_layers, "num_hidden_layers");
  require_positive(c.num_attention_heads, "num_attention_heads");
  require_positive(c.intermediate_size, "intermediate_size");
  require_positive(c.cross_attention_frequency, "cross_attention_frequency");
  require_positive(c.encoder_hidden_size, "encoder_hidden_size");
  if (c.hidden_size % c.num_attention_heads != 0) throw Error("Q-Former config: hidden_size not divisible by heads");
  if (field(j, {"position_embedding_type"}, std::string("absolute")) != "absolute")
    throw Error("Q-Former config: only position_embedding_type 'absolute' is supported");
  return c;
}

json QFormerConfig::to_json() const {
  return {{"model_type", "blip_2_qformer"},
          {"hidden_size", hidden_size},
          {"num_hidden_layers", num_hidden_layers},
          {"num_attention_heads", num_attention_heads},
          {"intermediate_size", intermediate_size},
          {"cross_attention_frequency", cross_attention_frequency},
          {"encoder_hidden_size", encoder_hidden_size},
          {"layer_norm_eps", layer_norm_eps},
          {"initializer_range", initializer_range},
          {"hidden_act", "gelu"},
          {"position_embedding_type", "absolute"}};
}

VisionConfig VisionConfig::from_open_clip_json(const json& root) {
  const json& model_cfg = root.contains("model_cfg") ? root["model_cfg"] : root;
  if (!model_cfg.contains("vision_cfg")) throw Error("open_clip config has no vision_cfg");
  const json& v = model_cfg["vision_cfg"];
  VisionConfig c;
  c.embed_dim = field(model_cfg, {"embed_dim"}, c.embed_dim);
  c.timm_model_name = field(v, {"timm_model_name"}, std::string());
  if (c.timm_model_name.empty())
    throw Error("open_clip vision_cfg has no timm_model_name: only timm ViT towers (as BiomedCLIP's) are supported");
  bool known_family = false;
  for (const auto& f : kTimmFamilies) {
    if (c.timm_model_name.rfind(std::string(f.name) + "_", 0) == 0) {
      c.width = f.width;
      c.depth = f.depth;
      c.num_heads = f.heads;
      known_family = true;
    }
  }
  std::smatch m;
  bool named_sizes = std::regex_search(c.timm_model_name, m, std::regex("_patch(\\d+)_(\\d+)"));
  if (named_sizes) {
    c.patch_size = std::stoll(m[1]);
    c.image_size = std::stoll(m[2]);
  }
  const json args = v.value("timm_model_args", json::object());
  if (!(known_family && named_sizes) && !(args.contains("embed_dim") && args.contains("depth") &&
                                          args.contains("num_heads") && args.contains("patch_size")))
    throw Error("unknown timm model '" + c.timm_model_name +
                "': give its sizes in vision_cfg.timm_model_args (embed_dim, depth, num_heads, patch_size, img_size)");
  c.width = field(args, {"embed_dim"}, c.width);
  c.depth = field(args, {"depth"}, c.depth);
  c.num_heads = field(args, {"num_heads"}, c.num_heads);
  c.patch_size = field(args, {"patch_size"}, c.patch_size);
  c.mlp_ratio = field(args, {"mlp_ratio"}, c.mlp_ratio);
  c.image_size = field(args, {"img_size"}, c.image_size);
  c.image_size = field(v, {"image_size"}, c.image_size);
  for (const char* unsupported : {"class_token", "no_embed_class", "pre_norm", "fc_norm", "global_pool"})
    if (args.contains(unsupported))
      throw Error(std::string("timm_model_args.") + unsupported + " is not supported (BiomedCLIP's ViT layout only)");
  if (v.contains("timm_proj") && v["timm_proj"] != "linear")
    throw Error("open_clip vision_cfg.timm_proj must be 'linear' (as BiomedCLIP's), got " + v["timm_proj"].dump());
  if (root.contains("preprocess_cfg")) {
    const json& p = root["preprocess_cfg"];
    c.mean = field(p, {"mean"}, c.mean);
    c.std = field(p, {"std"}, c.std);
  }
  require_positive(c.width, "embed_dim");
  require_positive(c.depth, "depth");
  require_positive(c.num_heads, "num_heads");
  require_positive(c.patch_size, "patch_size");
  require_positive(c.image_size, "image_size");
  if (c.width % c.num_heads != 0) throw Error("vision config: embed_dim not divisible by num_heads");
  if (c.image_size % c.patch_size != 0) throw Error("vision config: image_size not divisible by patch_size");
  return c;
}

json VisionConfig::to_open_clip_json() const {
  return {{"model_cfg",
           {{"embed_dim", embed_dim},
            {"vision_cfg",
             {{"timm_model_name", timm_model_name},
              {"timm_model_pretrained", false},
              {"timm_pool", ""},
              {"timm_proj", "linear"},
              {"image_size", image_size},
              {"timm_model_args",
               {{"img_size", image_size},
                {"patch_size", patch_size},
                {"embed_dim", width},
                {"depth", depth},
                {"num_heads", num_heads},
                {"mlp_ratio", mlp_ratio}}}}}}},
          {"preprocess_cfg", {{"mean", mean}, {"std", std}}}};
}

double LoraConfig::scaling() const { return use_rslora ? lora_alpha / std::sqrt(double(r)) : lora_alpha / double(r); }

LoraConfig LoraConfig::from_json(const json& j) {
  LoraConfig c;
  if (field(j, {"peft_type"}, std::string("LORA")) != "LORA")
    throw Error("adapter_config.json: peft_type " + j["peft_type"].dump() + " is not LORA");
  c.r = field(j, {"r"}, c.r);
  c.lora_alpha = field(j, {"lora_alpha"}, c.lora_alpha);
  c.lora_dropout = field(j, {"lora_dropout"}, c.lora_dropout);
  c.use_rslora = field(j, {"use_rslora"}, c.use_rslora);
  c.fan_in_fan_out = field(j, {"fan_in_fan_out"}, c.fan_in_fan_out);
  c.bias = field(j, {"bias"}, c.bias);
  if (j.contains("target_modules")) {
    if (j["target_modules"].is_string()) c.target_modules = {j["target_modules"].get<std::string>()};
    else c.target_modules = field(j, {"target_modules"}, c.target_modules);
  }
  require_positive(c.r, "r");
  if (c.bias != "none") throw Error("adapter_config.json: bias '" + c.bias + "' is not supported (only 'none')");
  if (c.fan_in_fan_out) throw Error("adapter_config.json: fan_in_fan_out is for Conv1D (GPT-2) layers, not BLOOM's");
  if (j.contains("rank_pattern") && !j["rank_pattern"].empty())
    throw Error("adapter_config.json: rank_pattern is not supported");
  if (j.contains("alpha_pattern") && !j["alpha_pattern"].empty())
    throw Error("adapter_config.json: alpha_pattern is not supported");
  return c;
}

json LoraConfig::to_json(const std::string& base_model_name_or_path) const {
  return {{"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"r", r},
          {"lora_alpha", lora_alpha},
          {"lora_dropout", lora_dropout},
          {"target_modules", target_modules},
          {"use_rslora", use_rslora},
          {"fan_in_fan_out", fan_in_fan_out},
          {"bias", bias},
          {"inference_mode", true},
          {"init_lora_weights", true},
          {"modules_to_save", nullptr},
          {"base_model_name_or_path", base_model_name_or_path}};
}

MedVqaConfig MedVqaConfig::from_json(const json& j) {
  MedVqaConfig c;
  if (j.contains("vision_config") && j["vision_config"].contains("model_cfg"))
    c.vision = VisionConfig::from_open_clip_json(j["vision_config"]);
  if (!j.contains("qformer_config")) throw Error("model config has no qformer_config");
  if (!j.contains("text_config")) throw Error("model config has no text_config");
  c.qformer = QFormerConfig::from_json(j["qformer_config"]);
  c.text = BloomConfig::from_json(j["text_config"]);
  c.num_query_tokens = field(j, {"num_query_tokens"}, c.num_query_tokens);
  c.prompt_template = field(j, {"prompt_template"}, c.prompt_template);
  c.max_new_tokens = field(j, {"max_new_tokens"}, c.max_new_tokens);
  c.follow_ups_in_prompt = field(j, {"follow_ups_in_prompt"}, c.follow_ups_in_prompt);
  require_positive(c.num_query_tokens, "num_query_tokens");
  require_positive(c.max_new_tokens, "max_new_tokens");  // an answer needs at least one token
  if (c.prompt_template.find("{question}") == std::string::npos)
    throw Error("model config: prompt_template must contain {question}");
  return c;
}

json MedVqaConfig::to_json() const {
  return {{"model_type", "medvqa"},
          {"architectures", {"MedVqaForConditionalGeneration"}},
          {"vision_config", vision.to_open_clip_json()},
          {"qformer_config", qformer.to_json()},
          {"text_config", text.to_json()},
          {"num_query_tokens", num_query_tokens},
          {"prompt_template", prompt_template},
          {"max_new_tokens", max_new_tokens},
          {"follow_ups_in_prompt", follow_ups_in_prompt}};
}

}  // namespace medvqa::model
