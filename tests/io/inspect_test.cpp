#include "io/inspect.h"

#include "helpers.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "testing/testing.h"

namespace medvqa::io {
namespace {

using testing::TempDir;

bool has(const std::string& text, const std::string& line) { return text.find(line) != std::string::npos; }

TEST(Inspect, ListsTensorsSortedWithTotals) {
  TempDir dir;
  save_safetensors(dir.file("model.safetensors"), {{"z.weight", torch::zeros({2, 3})},
                                                   {"a.bias", torch::zeros({3}, torch::kFloat16)},
                                                   {"m.ids", torch::zeros({}, torch::kInt64)}});
  const std::string text = describe_checkpoint(dir.path());
  std::cout << text;
  EXPECT_TRUE(has(text, "  a.bias F16 [3]\n  m.ids I64 []\n  z.weight F32 [2, 3]\n")) << text;
  EXPECT_TRUE(has(text, "file " + dir.file("model.safetensors"))) << text;
  EXPECT_TRUE(has(text, "total 3 tensors, 10 parameters, 38 bytes")) << text;
}

// The expectations come from the golden files themselves, so another golden set still checks.
TEST(Inspect, ShowsGoldenConfigs) {
  const std::string root = testing::golden_root();
  auto config_of = [](const std::string& path) { return nlohmann::json::parse(testing::read_file(path)); };
  const auto b = config_of(root + "/bloom/bloom_a/config.json");
  const std::string bloom = describe_checkpoint(root + "/bloom/bloom_a");
  for (const std::string& line :
       {"  n_layer: " + b.at("n_layer").dump() + "\n", "  hidden_size: " + b.at("hidden_size").dump() + "\n",
        "  n_head: " + b.at("n_head").dump() + "\n", "  vocab_size: " + b.at("vocab_size").dump() + "\n",
        std::string("  architectures: [\"BloomForCausalLM\"]\n"),
        "transformer.word_embeddings.weight F32 [" + b.at("vocab_size").dump() + ", " + b.at("hidden_size").dump() +
            "]"})
    EXPECT_TRUE(has(bloom, line)) << line << " missing from:\n" << bloom;
  const auto l = config_of(root + "/lora/adapter/adapter_config.json");
  const std::string lora = describe_checkpoint(root + "/lora/adapter");
  for (const std::string& line : {"  r: " + l.at("r").dump() + "\n", "  lora_alpha: " + l.at("lora_alpha").dump() + "\n",
                                  "  target_modules: " + l.at("target_modules").dump() + "\n"})
    EXPECT_TRUE(has(lora, line)) << line << " missing from:\n" << lora;
  const auto v = config_of(root + "/vit/open_clip_config.json").at("model_cfg");
  const std::string vit = describe_checkpoint(root + "/vit");
  for (const std::string& line :
       {"  model_cfg.embed_dim: " + v.at("embed_dim").dump() + "\n",
        "  model_cfg.vision_cfg.image_size: " + v.at("vision_cfg").at("image_size").dump() + "\n",
        "config " + root + "/vit/open_clip_config.json"})
    EXPECT_TRUE(has(vit, line)) << line << " missing from:\n" << vit;
}

TEST(Inspect, InvalidConfigNamesTheFile) {
  TempDir dir;
  save_safetensors(dir.file("model.safetensors"), {{"a", torch::zeros({1})}});
  testing::write_file(dir.file("config.json"), "{\"n_layer\": 2,");
  EXPECT_TRUE(
      testing::throws_error([&] { describe_checkpoint(dir.path()); }, {dir.file("config.json"), "invalid JSON"}));
}

}  // namespace
}  // namespace medvqa::io
