// open_clip TimmModel (BiomedCLIP's vision tower) against the golden vit set.
#include <gtest/gtest.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/pretrained.h"
#include "model/weights.h"
#include "model/fixtures.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;
constexpr double kAtol = 1e-5, kRtol = 1e-5;  // golden README's suggestion

TEST(VitGolden, MatchesOpenClip) {
  torch::NoGradGuard no_grad;
  const std::string dir = testing::golden_root() + "/vit";
  auto visual = testing::load_golden_vision(dir, torch::kFloat32, testing::parity_device());
  auto in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
  auto out = io::SafetensorsFile::open(dir + "/outputs.safetensors");
  int inputs = 0;
  for (const auto& name : in.names()) {
    if (name.rfind("pixel_values_", 0) != 0) continue;
    ++inputs;
    const std::string x = name.substr(std::string("pixel_values_").size());
    std::vector<torch::Tensor> mid;
    auto tokens = visual->trunk->forward_features(in.tensor(name).to(testing::parity_device()), &mid);
    EXPECT_TRUE(all_close(tokens, out.tensor(x + ".tokens_after_final_norm"), kAtol, kRtol, "vit " + x + " tokens"));
    EXPECT_TRUE(all_close(mid[0], out.tensor(x + ".patch_embed.output"), kAtol, kRtol, "vit " + x + " patch_embed"));
    EXPECT_TRUE(all_close(mid[1], out.tensor(x + ".pos_embedded_input"), kAtol, kRtol, "vit " + x + " pos_embed"));
    for (size_t k = 2; k < mid.size(); ++k) {
      std::string key = x + ".block" + std::to_string(k - 2) + ".output";
      EXPECT_TRUE(all_close(mid[k], out.tensor(key), kAtol, kRtol, "vit " + key));
    }
    EXPECT_TRUE(all_close(visual->pooled(tokens), out.tensor(x + ".pooled_pre_proj"), kAtol, kRtol, "vit " + x + " pooled"));
    auto embeds = visual->image_embeds(tokens);
    EXPECT_TRUE(all_close(embeds, out.tensor(x + ".image_embeds"), kAtol, kRtol, "vit " + x + " image_embeds"));
    EXPECT_TRUE(all_close(torch::nn::functional::normalize(embeds, torch::nn::functional::NormalizeFuncOptions().dim(-1)),
                          out.tensor(x + ".image_embeds_normalized"), kAtol, kRtol, "vit " + x + " normalized"));
  }
  EXPECT_GT(inputs, 0) << "no pixel_values_* inputs in " << dir;
}

TEST(VitGolden, Bfloat16StaysCloseToFloat32) {
  torch::NoGradGuard no_grad;
  const std::string dir = testing::golden_root() + "/vit";
  auto v32 = testing::load_golden_vision(dir, torch::kFloat32);
  auto v16 = testing::load_golden_vision(dir, torch::kBFloat16);
  auto in = io::SafetensorsFile::open(dir + "/inputs.safetensors").tensor("pixel_values_images");
  auto t32 = v32->forward_tokens(in);
  auto t16 = v16->forward_tokens(in.to(torch::kBFloat16)).to(torch::kFloat32);
  // LayerNorm'ed tokens are O(1); bf16's 8-bit mantissa through a few blocks stays within ~0.1.
  EXPECT_TRUE(all_close(t16, t32, 0.15, 0.0, "vit bf16 vs fp32 tokens"));
}

TEST(VisionConfig, KnownTimmNamesGiveTheirSizes) {
  nlohmann::json j = {{"model_cfg", {{"embed_dim", 512}, {"vision_cfg", {{"timm_model_name", "vit_base_patch16_224"}}}}}};
  auto c = VisionConfig::from_open_clip_json(j);
  EXPECT_EQ(c.width, 768);
  EXPECT_EQ(c.depth, 12);
  EXPECT_EQ(c.num_heads, 12);
  EXPECT_EQ(c.patch_size, 16);
  EXPECT_EQ(c.image_size, 224);
  EXPECT_EQ(c.num_patches(), 196);
  j["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit_small_patch8_96";
  c = VisionConfig::from_open_clip_json(j);
  EXPECT_EQ(c.width, 384);
  EXPECT_EQ(c.patch_size, 8);
  EXPECT_EQ(c.image_size, 96);
}

TEST(VisionConfig, UnknownTimmNameWithoutSizesIsAnError) {
  nlohmann::json j = {{"model_cfg", {{"vision_cfg", {{"timm_model_name", "convnext_tiny"}}}}}};
  EXPECT_THROW(VisionConfig::from_open_clip_json(j), Error);
}

TEST(VisionConfig, RoundTripsThroughOpenClipJson) {
  nlohmann::json j = {{"model_cfg", {{"embed_dim", 32}, {"vision_cfg", {{"timm_model_name", "vit_tiny_patch16_224"}}}}}};
  auto c = VisionConfig::from_open_clip_json(j);
  auto c2 = VisionConfig::from_open_clip_json(c.to_open_clip_json());
  EXPECT_EQ(c2.width, c.width);
  EXPECT_EQ(c2.depth, c.depth);
  EXPECT_EQ(c2.num_heads, c.num_heads);
  EXPECT_EQ(c2.embed_dim, c.embed_dim);
}

TEST(VisionTower, RejectsWrongImageSize) {
  VisionConfig c;
  c.timm_model_name = "test";
  c.width = 16, c.depth = 1, c.num_heads = 2, c.patch_size = 8, c.image_size = 16, c.embed_dim = 8;
  OpenClipVision v(c);
  EXPECT_THROW(v->forward_tokens(torch::zeros({1, 3, 32, 32})), Error);
}

}  // namespace
}  // namespace medvqa::model
