#include "model/fixtures.h"

#include <cstdlib>

#include "io/checkpoint.h"
#include "model/config.h"
#include "model/pretrained.h"
#include "model/weights.h"
#include "testing/testing.h"

namespace medvqa::testing {

torch::Device parity_device() {
  const char* name = std::getenv("MEDVQA_TEST_DEVICE");
  return model::parse_device(name != nullptr && *name ? name : "cpu");
}

model::VisionConfig golden_vision_config(const std::string& vit_dir) {
  auto config = model::read_json_file(vit_dir + "/open_clip_config.json");
  auto info = model::read_json_file(vit_dir + "/golden_info.json");
  config["model_cfg"]["vision_cfg"]["timm_model_args"] = info["timm_model_args"];
  return model::VisionConfig::from_open_clip_json(config);
}

model::OpenClipVision load_golden_vision(const std::string& vit_dir, torch::Dtype dtype, torch::Device device) {
  model::OpenClipVision visual(golden_vision_config(vit_dir));
  visual->to(device, dtype);
  model::require_complete(model::load_weights(*visual, io::load_checkpoint(vit_dir), "visual.", vit_dir), vit_dir);
  visual->eval();
  return visual;
}

model::MedVqaModel load_golden_vlm(torch::Dtype dtype, torch::Device device) {
  const std::string qdir = golden_root() + "/qformer", vdir = golden_root() + "/vit";
  auto config = model::MedVqaConfig::from_json(model::read_json_file(qdir + "/config.json"));
  config.vision = golden_vision_config(vdir);
  model::MedVqaModel m(config);
  m->to(device, dtype);
  auto state = io::load_checkpoint(qdir);
  for (auto& [k, v] : io::load_checkpoint(vdir)) state[k] = v;
  auto report = model::load_weights(*m, state, "", qdir);
  model::require_complete(report, qdir);
  m->eval();
  return m;
}

model::MedVqaConfig tiny_medvqa_config() {
  model::MedVqaConfig c;
  c.vision.timm_model_name = "vit_tiny_test";
  c.vision.image_size = 16;
  c.vision.patch_size = 8;
  c.vision.width = 24;
  c.vision.depth = 2;
  c.vision.num_heads = 3;
  c.vision.embed_dim = 16;
  c.qformer.hidden_size = 32;
  c.qformer.num_hidden_layers = 2;
  c.qformer.num_attention_heads = 4;
  c.qformer.intermediate_size = 64;
  c.qformer.cross_attention_frequency = 2;
  c.qformer.encoder_hidden_size = 24;
  c.text.vocab_size = 64;
  c.text.hidden_size = 32;
  c.text.n_layer = 2;
  c.text.n_head = 4;
  c.num_query_tokens = 4;
  return c;
}

}  // namespace medvqa::testing
