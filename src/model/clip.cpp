#include "model/clip.h"

#include <cmath>
#include <filesystem>

#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace medvqa::model {
namespace fs = std::filesystem;

ClipTextImpl::ClipTextImpl(const BloomConfig& config, int64_t embed_dim) {
  transformer = register_module("transformer", BloomModel(config));
  proj = register_module("proj", Linear(config.hidden_size, embed_dim, /*bias=*/false));
}

torch::Tensor ClipTextImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  auto hidden = transformer(transformer->word_embeddings(input_ids), attention_mask);
  auto last = (attention_mask.sum(1) - 1).clamp_min(0);
  auto pooled = hidden.index({torch::arange(hidden.size(0), last.options()), last});
  return proj(pooled);
}

ClipModelImpl::ClipModelImpl(const VisionConfig& vision, const BloomConfig& text_cfg)
    : vision_config(vision), text_config(text_cfg) {
  visual = register_module("visual", OpenClipVision(vision));
  text = register_module("text", ClipText(text_cfg, vision.embed_dim));
  logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1 / 0.07)));
}

torch::Tensor ClipModelImpl::encode_image(const torch::Tensor& pixels) {
  auto tokens = visual->forward_tokens(pixels);
  return torch::nn::functional::normalize(visual->image_embeds(tokens).to(torch::kFloat32),
                                          torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

torch::Tensor ClipModelImpl::encode_text(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return torch::nn::functional::normalize(text(input_ids, attention_mask).to(torch::kFloat32),
                                          torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

namespace {
const char* const kConfigFile = "open_clip_config.json";
const char* const kWeightsFile = "open_clip_model.safetensors";
}  // namespace

void save_open_clip(ClipModel& model, const std::string& dir) {
  fs::create_directories(dir);
  auto config = model->vision_config.to_open_clip_json();
  config["model_cfg"]["text_cfg"] = {{"hf_model_name", "bloom"},
                                     {"hf_model_config", model->text_config.to_json()},
                                     {"hf_proj_type", "linear"},
                                     {"hf_pooler_type", "last_token"}};
  auto state = module_weights(*model, "");
  for (auto& [k, v] : state) v = v.to(torch::kCPU, torch::kFloat32);
  io::save_safetensors((fs::path(dir) / kWeightsFile).string(), state, {{"format", "pt"}});
  io::write_file_atomically((fs::path(dir) / kConfigFile).string(), config.dump(2) + "\n");
}

ClipModel load_open_clip(const std::string& dir) {
  const std::string config_path = (fs::path(dir) / kConfigFile).string();
  auto json = read_json_file(config_path);
  const auto* text_cfg = json.contains("model_cfg") && json["model_cfg"].contains("text_cfg")
                             ? &json["model_cfg"]["text_cfg"]
                             : nullptr;
  if (text_cfg == nullptr || text_cfg->value("hf_model_name", "") != "bloom" || !text_cfg->contains("hf_model_config"))
    throw Error(config_path + ": model_cfg.text_cfg must name the BLOOM text tower medvqa trains (hf_model_name "
                "\"bloom\" with its hf_model_config); only the vision tower of other open_clip models loads "
                "(as vision_weights)");
  ClipModel model(VisionConfig::from_open_clip_json(json), BloomConfig::from_json((*text_cfg)["hf_model_config"]));
  require_complete(load_weights(*model, io::load_checkpoint(dir), "", dir), dir);
  return model;
}

}  // namespace medvqa::model
