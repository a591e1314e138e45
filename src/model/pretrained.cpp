#include "model/pretrained.h"

#include <torch/cuda.h>

#include <filesystem>
#include <optional>

#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "model/init.h"
#include "model/lora.h"
#include "model/weights.h"

namespace medvqa::model {
namespace fs = std::filesystem;

namespace {

std::string in_dir(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

bool has_key_with_prefix(const io::StateDict& state, const std::string& prefix) {
  auto it = state.lower_bound(prefix);
  return it != state.end() && it->first.rfind(prefix, 0) == 0;
}

// Loads BLOOM weights stored under `prefix` (+ optional `transformer.`) into `lm`.
void load_bloom_weights(BloomForCausalLM& lm, const io::StateDict& state, const std::string& prefix,
                        const std::string& origin) {
  LoadReport report;
  if (has_key_with_prefix(state, prefix + "transformer."))
    report = load_weights(*lm, state, prefix, origin);
  else  // Megatron-converted hub checkpoints (bigscience/bloom-560m…) lack the prefix.
    report = load_weights(*lm->transformer, state, prefix, origin);
  require_complete(report, origin);
}

}  // namespace

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "f32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  throw Error("unknown dtype '" + name + "' (use float32 or bfloat16)");
}

torch::Device parse_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device.emplace(name);
  } catch (const c10::Error&) {
  }
  if (!device || !(device->is_cpu() || device->is_cuda()))
    throw Error("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
  return require_usable(*device);
}

torch::Device require_usable(torch::Device device) {
  if (device.is_cpu()) return torch::kCPU;
  const int64_t count = torch::cuda::is_available() ? int64_t(torch::cuda::device_count()) : 0;
  if (count == 0)
    throw Error("device '" + device.str() + "': no CUDA device is usable here (this libtorch is built without CUDA, "
                "as Debian's is, or the machine has no GPU); build against a CUDA libtorch to compute on a GPU");
  if (device.has_index() && device.index() >= count)
    throw Error("device '" + device.str() + "': this machine has " + std::to_string(count) + " CUDA device(s)");
  return device;
}

BloomForCausalLM load_bloom(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  auto config = BloomConfig::from_json(read_json_file(in_dir(dir, "config.json")));
  BloomForCausalLM lm(config);
  lm->to(device, dtype);
  load_bloom_weights(lm, io::load_checkpoint(dir), "", dir);
  lm->eval();
  return lm;
}

void save_bloom(BloomForCausalLM& lm, const std::string& dir) {
  fs::create_directories(dir);
  auto state = module_weights(*lm, "");
  for (auto& [k, v] : state) v = v.to(torch::kCPU, torch::kFloat32);
  io::save_safetensors(in_dir(dir, "model.safetensors"), state, {{"format", "pt"}});
  io::write_file_atomically(in_dir(dir, "config.json"), lm->transformer->config.to_json().dump(2) + "\n");
}

VisionConfig read_open_clip_config(const std::string& dir) {
  return VisionConfig::from_open_clip_json(read_json_file(in_dir(dir, "open_clip_config.json")));
}

OpenClipVision load_open_clip_vision(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  OpenClipVision visual(read_open_clip_config(dir));
  visual->to(device, dtype);
  require_complete(load_weights(*visual, io::load_checkpoint(dir), "visual.", dir), dir);
  visual->eval();
  return visual;
}

namespace {

// Loads the parts that `state` lacks (vision tower, language model) from the checkpoints the
// config names ("vision_weights", "language_weights", relative to `base`), and returns the
// parameter prefixes that were filled that way. A part the config names no checkpoint for is an
// error, unless `fresh` (a new model from a config: that part keeps its initialisation).
std::vector<std::string> load_external_parts(MedVqaModel& model, const nlohmann::json& json, const io::StateDict& state,
                                             const std::string& base, const std::string& origin, bool fresh) {
  std::vector<std::string> filled;
  auto external = [&](const char* field, const char* prefix) -> std::string {
    if (has_key_with_prefix(state, prefix)) return "";
    if (fresh && !json.contains(field)) return "";
    if (!json.contains(field) || !json[field].is_string())
      throw Error(origin + ": no " + prefix + "* weights, and the config names no " + field);
    filled.push_back(prefix);
    return in_dir(base, json[field].get<std::string>());
  };
  std::string vision_path = external("vision_weights", "visual.");
  std::string language_path = external("language_weights", "language_model.");
  if (!vision_path.empty())
    require_complete(load_weights(*model->visual, io::load_checkpoint(vision_path), "visual.", vision_path),
                     vision_path);
  if (!language_path.empty())
    load_bloom_weights(model->language_model, io::load_checkpoint(language_path), "", language_path);
  return filled;
}

}  // namespace

MedVqaModel load_medvqa(const std::string& dir, torch::Dtype dtype, torch::Device device, bool merge_adapter) {
  auto json = read_json_file(in_dir(dir, "config.json"));
  MedVqaModel model(MedVqaConfig::from_json(json));
  model->to(device, dtype);
  auto state = io::load_checkpoint(dir);
  LoadReport report = load_weights(*model, state, "", dir);
  // Parts the fused checkpoint lacks come from their own published checkpoints.
  auto filled = load_external_parts(model, json, state, dir, dir, /*fresh=*/false);
  std::vector<std::string> missing;
  for (const auto& m : report.missing) {
    bool external_part = false;
    for (const auto& prefix : filled) external_part |= m.rfind(prefix, 0) == 0;
    if (!external_part) missing.push_back(m);
  }
  report.missing = missing;
  require_complete(report, dir);
  if (fs::exists(in_dir(dir, "adapter/adapter_config.json"))) {
    load_lora_adapter(*model->language_model, in_dir(dir, "adapter"));
    if (merge_adapter) merge_lora(*model->language_model);
  }
  model->eval();
  return model;
}

MedVqaModel create_medvqa(const std::string& config_path, uint64_t seed) {
  auto json = read_json_file(config_path);
  MedVqaModel model(MedVqaConfig::from_json(json));
  init_weights(*model, 0.02, seed);
  init_weights(*model->qformer, model->config.qformer.initializer_range, seed + 1);
  if (json.contains("vision_weights") || json.contains("language_weights"))
    load_external_parts(model, json, io::StateDict(), fs::path(config_path).parent_path().string(), config_path,
                        /*fresh=*/true);
  return model;
}

void save_medvqa(MedVqaModel& model, const std::string& dir, torch::Dtype dtype, const LoraConfig* lora) {
  auto is_lora = [](const std::string& n) { return n.find(".lora_") != std::string::npos; };
  bool has_lora = false;
  for (const auto& p : model->named_parameters()) has_lora = has_lora || is_lora(p.key());
  if (has_lora && lora == nullptr) throw Error("save_medvqa: the model has LoRA layers but no LoraConfig was given");
  fs::create_directories(dir);
  auto state = module_weights(*model, "", [&](const std::string& n) { return !is_lora(n); });
  for (auto& [k, v] : state) v = v.to(torch::kCPU, dtype);
  io::save_safetensors(in_dir(dir, "model.safetensors"), state, {{"format", "pt"}});
  io::write_file_atomically(in_dir(dir, "config.json"), model->config.to_json().dump(2) + "\n");
  if (has_lora) save_lora_adapter(*model->language_model, *lora, in_dir(dir, "adapter"));
}

}  // namespace medvqa::model
