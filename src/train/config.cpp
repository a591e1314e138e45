#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/error.h"
#include "kernels/cpu_features.h"

// A device in a config: its name, parsed when read (torch::Device has no default constructor,
// hence the serializer's static form).
template <>
struct nlohmann::adl_serializer<c10::Device> {
  static c10::Device from_json(const nlohmann::json& j) {
    const auto name = j.get<std::string>();
    try {
      const c10::Device device(name);
      if (device.is_cpu() || device.is_cuda()) return device;
    } catch (const c10::Error&) {
    }
    throw medvqa::Error("training config: unknown device '" + name + "' (use cpu, cuda or cuda:N)");
  }
  static void to_json(nlohmann::json& j, const c10::Device& device) { j = device.str(); }
};

namespace medvqa::train {

void to_json(nlohmann::json& j, DtypeChoice d) {
  j = d == DtypeChoice::kAuto ? "auto" : d == DtypeChoice::kBFloat16 ? "bfloat16" : "float32";
}

void from_json(const nlohmann::json& j, DtypeChoice& d) {
  const auto name = j.get<std::string>();
  if (name == "auto") d = DtypeChoice::kAuto;
  else if (name == "float32") d = DtypeChoice::kFloat32;
  else if (name == "bfloat16") d = DtypeChoice::kBFloat16;
  else throw Error("training config: dtype must be float32, bfloat16 or auto, got '" + name + "'");
}

torch::Dtype TrainConfig::compute_dtype() const {
  switch (dtype) {
    case DtypeChoice::kFloat32: return torch::kFloat32;
    case DtypeChoice::kBFloat16: return torch::kBFloat16;
    default: return !device.is_cpu() || kernels::using_avx512_bf16() ? torch::kBFloat16 : torch::kFloat32;
  }
}

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

// Every field of a data source and of a config, named once: reading, writing and the check for
// unknown keys all go through these lists, so a field cannot be read but not saved, and a typo
// in a config ("learning_rate", "max_step") is an error instead of a silently ignored key.
template <typename Source, typename Visit>
void source_fields(Source& s, Visit&& v) {
  v("format", s.format);
  v("path", s.path);
  v("images", s.images);
  v("languages", s.languages);
  v("weight", s.weight);
  v("holdout_fraction", s.holdout_fraction);
  v("holdout_side", s.holdout_side);
  v("holdout_seed", s.holdout_seed);
  v("limit", s.limit);
}

// The scalar and list fields of a config; train, validation, prompt_template, lora and
// text_tower are read apart (they are objects or optional).
template <typename Config, typename Visit>
void config_fields(Config& c, Visit&& v) {
  v("name", c.name);
  v("kind", c.kind);
  v("max_statements", c.max_statements);
  v("sequence_length", c.sequence_length);
  v("validation_fraction", c.validation_fraction);
  v("output_dir", c.output_dir);
  v("init_model", c.init_model);
  v("model_config", c.model_config);
  v("tokenizer", c.tokenizer);
  v("init_seed", c.init_seed);
  v("caption_prompt", c.caption_prompt);
  v("max_prompt_tokens", c.max_prompt_tokens);
  v("max_target_tokens", c.max_target_tokens);
  v("trainable", c.trainable);
  v("lr", c.lr);
  v("lr_scales", c.lr_scales);
  v("weight_decay", c.weight_decay);
  v("beta1", c.beta1);
  v("beta2", c.beta2);
  v("eps", c.eps);
  v("warmup_steps", c.warmup_steps);
  v("max_steps", c.max_steps);
  v("min_lr_ratio", c.min_lr_ratio);
  v("batch_size", c.batch_size);
  v("grad_accum", c.grad_accum);
  v("grad_clip", c.grad_clip);
  v("label_smoothing", c.label_smoothing);
  v("dtype", c.dtype);
  v("device", c.device);
  v("seed", c.seed);
  v("threads", c.threads);
  v("loader_threads", c.loader_threads);
  v("crop_scale_min", c.crop_scale_min);
  v("flip_probability", c.flip_probability);
  v("color_jitter", c.color_jitter);
  v("history_probability", c.history_probability);
  v("history_max_turns", c.history_max_turns);
  v("log_every", c.log_every);
  v("eval_every", c.eval_every);
  v("eval_limit", c.eval_limit);
  v("eval_blank_images", c.eval_blank_images);
  v("checkpoint_every", c.checkpoint_every);
  v("early_stopping_patience", c.early_stopping_patience);
}

// Throws naming the first key of `j` that is neither listed by `fields` nor in `extra`. Keys
// starting with "_" are comments.
template <typename Fields>
void reject_unknown_keys(const json& j, const char* what, Fields&& fields, std::initializer_list<const char*> extra) {
  if (!j.is_object()) throw Error(std::string("training config: ") + what + " must be a JSON object");
  std::vector<std::string> known(extra.begin(), extra.end());
  fields([&](const char* key, const auto&) { known.emplace_back(key); });
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (key.rfind('_', 0) == 0 || std::find(known.begin(), known.end(), key) != known.end()) continue;
    throw Error(std::string("training config: unknown field '") + key + "' in " + what);
  }
}

DataSource read_source(const json& j, const std::string& base) {
  DataSource s;
  reject_unknown_keys(j, "a data source", [&](auto&& v) { source_fields(s, v); }, {});
  source_fields(s, [&](const char* key, auto& value) { read(j, key, value); });
  if (s.format.empty() || s.path.empty()) throw Error("training config: every data source needs a format and a path");
  if (s.holdout_side != "train" && s.holdout_side != "val")
    throw Error("training config: holdout_side must be 'train' or 'val'");
  if (s.weight <= 0) throw Error("training config: data source weight must be positive");
  s.path = resolve(base, s.path);
  s.images = resolve(base, s.images);
  return s;
}

json source_json(const DataSource& s) {
  json j;
  source_fields(s, [&](const char* key, const auto& value) { j[key] = value; });
  return j;
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const std::string& base) {
  TrainConfig c;
  reject_unknown_keys(j, "the config", [&](auto&& v) { config_fields(c, v); },
                      {"train", "validation", "prompt_template", "lora", "text_tower"});
  config_fields(c, [&](const char* key, auto& value) { read(j, key, value); });
  if (c.kind != "vqa" && c.kind != "contrastive" && c.kind != "language_model")
    throw Error("training config: kind must be vqa, contrastive or language_model, got '" + c.kind + "'");
  if (j.contains("text_tower") && !j["text_tower"].is_null()) {
    if (!j["text_tower"].is_object()) throw Error("training config: text_tower must be an object (a BLOOM config)");
    c.text_tower = j["text_tower"];
  }
  c.output_dir = resolve(base, c.output_dir);
  c.init_model = resolve(base, c.init_model);
  c.model_config = resolve(base, c.model_config);
  c.tokenizer = resolve(base, c.tokenizer);
  if (c.init_model.empty() == c.model_config.empty())
    throw Error("training config: give exactly one of init_model (a model directory) or model_config (+ tokenizer)");
  if (!c.model_config.empty() && c.tokenizer.empty())
    throw Error("training config: model_config needs a tokenizer (tokenizer.json)");
  if (!j.contains("train") || !j["train"].is_array() || j["train"].empty())
    throw Error("training config: 'train' must list at least one data source");
  for (const auto& s : j["train"]) c.train.push_back(read_source(s, base));
  if (j.contains("validation"))
    for (const auto& s : j["validation"]) c.validation.push_back(read_source(s, base));
  if (j.contains("prompt_template") && !j["prompt_template"].is_null()) {
    std::string t;
    read(j, "prompt_template", t);
    c.prompt_template = t;
  }
  if (j.contains("lora") && !j["lora"].is_null()) c.lora = model::LoraConfig::from_json(j["lora"]);
  if (c.batch_size <= 0 || c.grad_accum <= 0 || c.max_steps <= 0)
    throw Error("training config: batch_size, grad_accum and max_steps must be positive");
  if (c.max_statements <= 0 || c.sequence_length < 2)
    throw Error("training config: max_statements must be positive and sequence_length at least 2");
  if (c.validation_fraction < 0 || c.validation_fraction >= 1)
    throw Error("training config: validation_fraction must be in [0, 1)");
  for (const auto& [key, scale] : c.lr_scales)
    if (!(scale > 0 && std::isfinite(scale)))
      throw Error("training config: lr_scales '" + key + "' must be a positive number");
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 1))
    throw Error("training config: label_smoothing must be in [0, 1)");
  if (c.crop_scale_min <= 0 || c.crop_scale_min > 1) throw Error("training config: crop_scale_min must be in (0, 1]");
  if (!(c.history_probability >= 0 && c.history_probability <= 1))
    throw Error("training config: history_probability must be in [0, 1]");
  if (c.history_max_turns < 1) throw Error("training config: history_max_turns must be at least 1");
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
  auto j = read_config_json(path);
  try {
    return from_json(j, fs::path(path).parent_path().string());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

json TrainConfig::to_json() const {
  json train_sources = json::array(), val_sources = json::array();
  for (const auto& s : train) train_sources.push_back(source_json(s));
  for (const auto& s : validation) val_sources.push_back(source_json(s));
  json j;
  config_fields(*this, [&](const char* key, const auto& value) { j[key] = value; });
  // A run's saved config records the dtype it computed in, not "auto".
  j["dtype"] = compute_dtype() == torch::kBFloat16 ? DtypeChoice::kBFloat16 : DtypeChoice::kFloat32;
  j["train"] = train_sources;
  j["validation"] = val_sources;
  if (prompt_template) j["prompt_template"] = *prompt_template;
  if (lora) j["lora"] = lora->to_json();
  if (text_tower) j["text_tower"] = *text_tower;
  return j;
}

}  // namespace medvqa::train
