// PEFT LoRA on BLOOM against the golden lora set: unmerged adapter, merged model, disabled adapter.
#include <gtest/gtest.h>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/fixtures.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;
constexpr double kLogitAtol = 5e-4, kLogitRtol = 1e-4;

std::string ldir() { return testing::golden_root() + "/lora"; }

// Checks logits, last hidden state and greedy ids of `lm` against outputs "<variant>.*".
void expect_matches(BloomForCausalLM& lm, const std::string& variant) {
  torch::NoGradGuard no_grad;
  auto in = io::SafetensorsFile::open(ldir() + "/inputs.safetensors");
  auto out = io::SafetensorsFile::open(ldir() + "/outputs.safetensors");
  const auto device = lm->transformer->ln_f->weight.device();
  for (const std::string batch : {"nopad", "padded"}) {
    auto ids = in.tensor(batch + ".input_ids").to(device);
    auto mask = in.contains(batch + ".attention_mask") ? in.tensor(batch + ".attention_mask").to(device)
                                                       : full_attention_mask(ids.size(0), ids.size(1), device);
    auto valid = mask.to(torch::kCPU, torch::kBool);
    auto hidden = lm->transformer(lm->embed(ids), mask);
    const std::string key = variant + "." + batch;
    EXPECT_TRUE(all_close(lm->logits(hidden).to(torch::kCPU).index({valid}), out.tensor(key + ".logits").index({valid}),
                          kLogitAtol, kLogitRtol, key + ".logits"));
    EXPECT_TRUE(all_close(hidden.to(torch::kCPU).index({valid}), out.tensor(key + ".hidden_states.last").index({valid}),
                          kLogitAtol, kLogitRtol, key + ".hidden_states.last"));
    if (!out.contains(variant + ".generate." + batch + ".sequences")) continue;
    auto expected = out.tensor(variant + ".generate." + batch + ".sequences");
    GenerationOptions o;
    o.max_new_tokens = expected.size(1) - ids.size(1);
    o.eos_token_id = lm->transformer->config.eos_token_id;
    o.pad_token_id = lm->transformer->config.pad_token_id;
    auto result = generate(lm, lm->embed(ids), mask, o);
    EXPECT_TRUE(torch::equal(result.tokens.to(torch::kCPU), expected.narrow(1, ids.size(1), o.max_new_tokens))) << key;
  }
}

TEST(LoraGolden, UnmergedAdapterMatchesPeft) {
  auto lm = load_bloom(ldir() + "/base", torch::kFloat32, testing::parity_device());
  auto config = load_lora_adapter(*lm, ldir() + "/adapter");
  EXPECT_GT(config.r, 0);
  expect_matches(lm, "adapter");
}

TEST(LoraGolden, MergedAdapterMatchesMergeAndUnload) {
  auto lm = load_bloom(ldir() + "/base", torch::kFloat32, testing::parity_device());
  load_lora_adapter(*lm, ldir() + "/adapter");
  merge_lora(*lm);
  for (const auto& p : lm->named_parameters()) EXPECT_EQ(p.key().find("lora_"), std::string::npos) << p.key();
  expect_matches(lm, "merged");
  // And the merged weights equal the ones PEFT saved.
  auto merged = load_bloom(ldir() + "/merged");
  auto ours = lm->named_parameters();
  for (const auto& p : merged->named_parameters())
    EXPECT_TRUE(all_close(ours[p.key()], p.value(), 1e-5, 1e-5, "merged " + p.key()));
}

TEST(LoraGolden, DisabledAdapterIsTheBaseModel) {
  auto lm = load_bloom(ldir() + "/base", torch::kFloat32, testing::parity_device());
  load_lora_adapter(*lm, ldir() + "/adapter");
  set_lora_enabled(*lm, false);
  expect_matches(lm, "base_adapter_disabled");
}

TEST(LoraGolden, SavedAdapterReloadsIdentically) {
  testing::TempDir tmp;
  auto lm = load_bloom(ldir() + "/base", torch::kFloat32, testing::parity_device());
  auto config = load_lora_adapter(*lm, ldir() + "/adapter");
  save_lora_adapter(*lm, config, tmp.file("adapter"), "base");
  // Same keys, shapes and values as the file PEFT wrote.
  auto ours = io::SafetensorsFile::open(tmp.file("adapter/adapter_model.safetensors"));
  auto peft = io::SafetensorsFile::open(ldir() + "/adapter/adapter_model.safetensors");
  ASSERT_EQ(ours.names().size(), peft.names().size());
  for (const auto& name : peft.names()) {
    ASSERT_TRUE(ours.contains(name)) << name;
    EXPECT_TRUE(torch::equal(ours.tensor(name), peft.tensor(name))) << name;
  }
  auto again = load_bloom(ldir() + "/base", torch::kFloat32, testing::parity_device());
  auto reloaded = load_lora_adapter(*again, tmp.file("adapter"));
  EXPECT_EQ(reloaded.r, config.r);
  EXPECT_DOUBLE_EQ(reloaded.scaling(), config.scaling());
  expect_matches(again, "adapter");
}

TEST(LoraConfigTest, ScalingAndRsLora) {
  LoraConfig c;
  c.r = 16;
  c.lora_alpha = 32;
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);
  c.use_rslora = true;
  EXPECT_DOUBLE_EQ(c.scaling(), 8.0);
}

TEST(LoraConfigTest, UnsupportedAdapterKindsAreErrors) {
  EXPECT_THROW(LoraConfig::from_json({{"peft_type", "IA3"}}), Error);
  EXPECT_THROW(LoraConfig::from_json({{"peft_type", "LORA"}, {"r", 4}, {"bias", "all"}}), Error);
}

TEST(LoraTest, TargetsThatMatchNothingAreAnError) {
  BloomConfig c;
  c.vocab_size = 16, c.hidden_size = 8, c.n_layer = 1, c.n_head = 2;
  BloomForCausalLM lm(c);
  LoraConfig lc;
  lc.target_modules = {"q_proj"};
  EXPECT_THROW(add_lora(*lm, lc), Error);
  lc.target_modules = {"query_key_value", "dense"};
  auto adapted = add_lora(*lm, lc);
  EXPECT_EQ(adapted.size(), 2u);  // dense_h_to_4h is not "dense"
}

}  // namespace
}  // namespace medvqa::model
