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

TEST(Inspect, ShowsGoldenConfigs) {
  const std::string root = testing::golden_root();
  const std::string bloom = describe_checkpoint(root + "/bloom/bloom_a");
  for (const char* line :
       {"  n_layer: 2\n", "  hidden_size: 64\n", "  n_head: 4\n", "  vocab_size: 512\n",
        "  architectures: [\"BloomForCausalLM\"]\n", "transformer.word_embeddings.weight F32 [512, 64]"})
    EXPECT_TRUE(has(bloom, line)) << line << " missing from:\n" << bloom;
  const std::string lora = describe_checkpoint(root + "/lora/adapter");
  for (const char* line : {"  r: 4\n", "  lora_alpha: 8\n", "  target_modules: [\"query_key_value\"]\n"})
    EXPECT_TRUE(has(lora, line)) << line << " missing from:\n" << lora;
  const std::string vit = describe_checkpoint(root + "/vit");
  for (const std::string& line :
       {std::string("  model_cfg.embed_dim: 32\n"), std::string("  model_cfg.vision_cfg.image_size: 32\n"),
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
