#include "train/config.h"

#include <filesystem>

#include "io/error.h"
#include "model/packed_kernels.h"

namespace medvqa::train {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

template <typename T>
void read(const json& j, const char* key, T& value) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    value = j[key].get<T>();
  } catch (const json::exception&) {
    throw Error(std::string("training config: field '") + key + "' has the wrong type: " + j[key].dump());
  }
}

// Paths in a config are relative to the config file, so a config works from any directory.
std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

DataSource read_source(const json& j, const std::string& base) {
  DataSource s;
  read(j, "format", s.format);
  read(j, "path", s.path);
  read(j, "images", s.images);
  read(j, "languages", s.languages);
  read(j, "weight", s.weight);
  read(j, "holdout_fraction", s.holdout_fraction);
  read(j, "holdout_side", s.holdout_side);
  read(j, "holdout_seed", s.holdout_seed);
  read(j, "limit", s.limit);
  if (s.format.empty() || s.path.empty()) throw Error("training config: every data source needs a format and a path");
  if (s.holdout_side != "train" && s.holdout_side != "val")
    throw Error("training config: holdout_side must be 'train' or 'val'");
  if (s.weight <= 0) throw Error("training config: data source weight must be positive");
  s.path = resolve(base, s.path);
  s.images = resolve(base, s.images);
  return s;
}

json source_json(const DataSource& s) {
  return {{"format", s.format},     {"path", s.path},
          {"images", s.images},     {"languages", s.languages},
          {"weight", s.weight},     {"holdout_fraction", s.holdout_fraction},
          {"holdout_side", s.holdout_side}, {"holdout_seed", s.holdout_seed},
          {"limit", s.limit}};
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const std::string& base) {
  TrainConfig c;
  read(j, "name", c.name);
  read(j, "kind", c.kind);
  if (c.kind != "vqa" && c.kind != "contrastive" && c.kind != "language_model")
    throw Error("training config: kind must be vqa, contrastive or language_model, got '" + c.kind + "'");
  if (j.contains("text_tower") && !j["text_tower"].is_null()) {
    if (!j["text_tower"].is_object()) throw Error("training config: text_tower must be an object (a BLOOM config)");
    c.text_tower = j["text_tower"];
  }
  read(j, "max_statements", c.max_statements);
  read(j, "sequence_length", c.sequence_length);
  read(j, "validation_fraction", c.validation_fraction);
  read(j, "output_dir", c.output_dir);
  c.output_dir = resolve(base, c.output_dir);
  read(j, "init_model", c.init_model);
  read(j, "model_config", c.model_config);
  read(j, "tokenizer", c.tokenizer);
  c.init_model = resolve(base, c.init_model);
  c.model_config = resolve(base, c.model_config);
  c.tokenizer = resolve(base, c.tokenizer);
  read(j, "init_seed", c.init_seed);
  if (c.init_model.empty() == c.model_config.empty())
    throw Error("training config: give exactly one of init_model (a model directory) or model_config (+ tokenizer)");
  if (!c.model_config.empty() && c.tokenizer.empty())
    throw Error("training config: model_config needs a tokenizer (tokenizer.json)");
  if (!j.contains("train") || !j["train"].is_array() || j["train"].empty())
    throw Error("training config: 'train' must list at least one data source");
  for (const auto& s : j["train"]) c.train.push_back(read_source(s, base));
  if (j.contains("validation"))
    for (const auto& s : j["validation"]) c.validation.push_back(read_source(s, base));
  read(j, "caption_prompt", c.caption_prompt);
  if (j.contains("prompt_template")) c.prompt_template = j["prompt_template"].get<std::string>();
  read(j, "max_prompt_tokens", c.max_prompt_tokens);
  read(j, "max_target_tokens", c.max_target_tokens);
  read(j, "trainable", c.trainable);
  if (j.contains("lora") && !j["lora"].is_null()) c.lora = model::LoraConfig::from_json(j["lora"]);
  read(j, "lr", c.lr);
  read(j, "weight_decay", c.weight_decay);
  read(j, "beta1", c.beta1);
  read(j, "beta2", c.beta2);
  read(j, "eps", c.eps);
  read(j, "warmup_steps", c.warmup_steps);
  read(j, "max_steps", c.max_steps);
  read(j, "min_lr_ratio", c.min_lr_ratio);
  read(j, "batch_size", c.batch_size);
  read(j, "grad_accum", c.grad_accum);
  read(j, "grad_clip", c.grad_clip);
  read(j, "dtype", c.dtype);
  read(j, "device", c.device);
  read(j, "seed", c.seed);
  read(j, "threads", c.threads);
  read(j, "loader_threads", c.loader_threads);
  read(j, "crop_scale_min", c.crop_scale_min);
  read(j, "flip_probability", c.flip_probability);
  read(j, "color_jitter", c.color_jitter);
  read(j, "log_every", c.log_every);
  read(j, "eval_every", c.eval_every);
  read(j, "eval_limit", c.eval_limit);
  read(j, "eval_blank_images", c.eval_blank_images);
  read(j, "checkpoint_every", c.checkpoint_every);
  read(j, "early_stopping_patience", c.early_stopping_patience);
  if (c.batch_size <= 0 || c.grad_accum <= 0 || c.max_steps <= 0)
    throw Error("training config: batch_size, grad_accum and max_steps must be positive");
  if (c.max_statements <= 0 || c.sequence_length < 2)
    throw Error("training config: max_statements must be positive and sequence_length at least 2");
  if (c.validation_fraction < 0 || c.validation_fraction >= 1)
    throw Error("training config: validation_fraction must be in [0, 1)");
  // "auto": bf16 autocast where it is fast (a GPU, or a CPU with AVX512-BF16, ~400 GFLOP/s), fp32
  // elsewhere (bf16 GEMMs without that instruction run at a few GFLOP/s).
  if (c.dtype == "auto")
    c.dtype = c.device != "cpu" || model::kernels::using_avx512_bf16() ? "bfloat16" : "float32";
  if (c.dtype != "float32" && c.dtype != "bfloat16")
    throw Error("training config: dtype must be float32, bfloat16 or auto");
  if (c.crop_scale_min <= 0 || c.crop_scale_min > 1) throw Error("training config: crop_scale_min must be in (0, 1]");
  return c;
}

// A config may name another in "extends" and override some of its fields (JSON merge patch:
// null removes a field), so variants such as the ablation runs restate only what differs.
// The base must sit in the same directory, so relative paths mean the same in both.
static json read_config_json(const std::string& path, int depth = 0) {
  auto j = model::read_json_file(path);
  if (!j.contains("extends")) return j;
  if (!j["extends"].is_string()) throw Error("training config " + path + ": 'extends' must be a file name");
  if (depth > 8) throw Error("training config " + path + ": 'extends' chain too deep (a cycle?)");
  auto base_path = fs::path(path).parent_path() / j["extends"].get<std::string>();
  if (base_path.parent_path().lexically_normal() != fs::path(path).parent_path().lexically_normal())
    throw Error("training config " + path + ": 'extends' must name a config in the same directory");
  auto merged = read_config_json(base_path.string(), depth + 1);
  j.erase("extends");
  merged.merge_patch(j);
  return merged;
}

TrainConfig TrainConfig::from_file(const std::string& path) {
  return from_json(read_config_json(path), fs::path(path).parent_path().string());
}

json TrainConfig::to_json() const {
  json train_sources = json::array(), val_sources = json::array();
  for (const auto& s : train) train_sources.push_back(source_json(s));
  for (const auto& s : validation) val_sources.push_back(source_json(s));
  json j = {{"name", name},
            {"kind", kind},
            {"max_statements", max_statements},
            {"sequence_length", sequence_length},
            {"validation_fraction", validation_fraction},
            {"output_dir", output_dir},
            {"init_model", init_model},
            {"model_config", model_config},
            {"tokenizer", tokenizer},
            {"init_seed", init_seed},
            {"train", train_sources},
            {"validation", val_sources},
            {"caption_prompt", caption_prompt},
            {"max_prompt_tokens", max_prompt_tokens},
            {"max_target_tokens", max_target_tokens},
            {"trainable", trainable},
            {"lr", lr},
            {"weight_decay", weight_decay},
            {"beta1", beta1},
            {"beta2", beta2},
            {"eps", eps},
            {"warmup_steps", warmup_steps},
            {"max_steps", max_steps},
            {"min_lr_ratio", min_lr_ratio},
            {"batch_size", batch_size},
            {"grad_accum", grad_accum},
            {"grad_clip", grad_clip},
            {"dtype", dtype},
            {"device", device},
            {"seed", seed},
            {"threads", threads},
            {"loader_threads", loader_threads},
            {"crop_scale_min", crop_scale_min},
            {"flip_probability", flip_probability},
            {"color_jitter", color_jitter},
            {"log_every", log_every},
            {"eval_every", eval_every},
            {"eval_limit", eval_limit},
            {"eval_blank_images", eval_blank_images},
            {"checkpoint_every", checkpoint_every},
            {"early_stopping_patience", early_stopping_patience}};
  if (prompt_template) j["prompt_template"] = *prompt_template;
  if (lora) j["lora"] = lora->to_json();
  if (text_tower) j["text_tower"] = *text_tower;
  return j;
}

}  // namespace medvqa::train
