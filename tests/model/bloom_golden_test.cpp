// BLOOM against transformers' BloomForCausalLM on the golden models (every dir under
// golden/bloom with a config.json): logits, hidden states, padding, greedy generation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/safetensors.h"
#include "model/fixtures.h"
#include "model/generation.h"
#include "model/pretrained.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;

constexpr double kLogitAtol = 5e-4, kLogitRtol = 1e-4;   // golden README's suggestion
constexpr double kHiddenAtol = 5e-4, kHiddenRtol = 2e-5;

std::vector<std::string> bloom_dirs() {
  return testing::subdirs_with(testing::golden_root() + "/bloom", "config.json");
}

// Rows of [B,T,...] at positions where mask is 1, as [N,...] on the CPU: pad positions are
// meaningless.
torch::Tensor valid(const torch::Tensor& t, const torch::Tensor& mask) {
  return t.to(torch::kCPU).index({mask.to(torch::kCPU, torch::kBool)});
}

GenerationOptions golden_generation(const BloomConfig& c, int64_t new_tokens) {
  GenerationOptions o;
  o.max_new_tokens = new_tokens;
  o.eos_token_id = c.eos_token_id;
  o.pad_token_id = c.pad_token_id;
  o.keep_scores = true;
  return o;
}

TEST(BloomGolden, DiscoversModels) { ASSERT_FALSE(bloom_dirs().empty()) << "no golden BLOOM models under " << testing::golden_root(); }

TEST(BloomGolden, LogitsAndHiddenStatesMatchTransformers) {
  torch::NoGradGuard no_grad;
  const auto device = testing::parity_device();
  for (const auto& dir : bloom_dirs()) {
    SCOPED_TRACE(dir);
    auto lm = load_bloom(dir, torch::kFloat32, device);
    auto in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
    auto out = io::SafetensorsFile::open(dir + "/outputs.safetensors");
    const int64_t n_layer = lm->transformer->config.n_layer;

    // Unpadded batch, with no mask (= all ones).
    auto ids = in.tensor("nopad.input_ids").to(device);
    std::vector<torch::Tensor> hs;
    auto mask = full_attention_mask(ids.size(0), ids.size(1), device);
    auto hidden = lm->transformer(lm->embed(ids), mask, nullptr, &hs);
    EXPECT_TRUE(all_close(lm->logits(hidden), out.tensor("nopad.logits"), kLogitAtol, kLogitRtol, dir + " nopad.logits"));
    EXPECT_TRUE(all_close(lm->logits(hidden), out.tensor("nopad.logits_with_ones_mask"), kLogitAtol, kLogitRtol,
                          dir + " nopad.logits_with_ones_mask"));
    for (int64_t k = 0; k <= n_layer; ++k)
      EXPECT_TRUE(all_close(hs[k], out.tensor("nopad.hidden_states." + std::to_string(k)), kHiddenAtol, kHiddenRtol,
                            dir + " nopad.hidden_states." + std::to_string(k)));
    EXPECT_TRUE(all_close(hs.back(), out.tensor("nopad.last_block_output_pre_ln_f"), kHiddenAtol, kHiddenRtol,
                          dir + " nopad.last_block_output_pre_ln_f"));

    // Left-padded batch: compare real-token positions only.
    auto pids = in.tensor("padded.input_ids").to(device);
    auto pmask = in.tensor("padded.attention_mask").to(device);
    hs.clear();
    auto phidden = lm->transformer(lm->embed(pids), pmask, nullptr, &hs);
    EXPECT_TRUE(all_close(valid(lm->logits(phidden), pmask), valid(out.tensor("padded.logits"), pmask), kLogitAtol,
                          kLogitRtol, dir + " padded.logits (valid positions)"));
    for (int64_t k = 0; k <= n_layer; ++k)
      EXPECT_TRUE(all_close(valid(hs[k], pmask), valid(out.tensor("padded.hidden_states." + std::to_string(k)), pmask),
                            kHiddenAtol, kHiddenRtol, dir + " padded.hidden_states." + std::to_string(k)));

    // Each padded row run alone equals its padded version.
    for (int64_t r = 0; r < pids.size(0); ++r) {
      std::string key = "padded.row" + std::to_string(r) + "_alone.logits";
      if (!out.contains(key)) continue;
      auto row_mask = pmask[r].to(torch::kBool);
      auto row_ids = pids[r].index({row_mask}).unsqueeze(0);
      auto logits = lm->forward(row_ids, full_attention_mask(1, row_ids.size(1), device));
      EXPECT_TRUE(all_close(logits, out.tensor(key), kLogitAtol, kLogitRtol, dir + " " + key));
    }
  }
}

TEST(BloomGolden, GreedyGenerationMatchesTransformers) {
  const auto device = testing::parity_device();
  for (const auto& dir : bloom_dirs()) {
    SCOPED_TRACE(dir);
    auto lm = load_bloom(dir, torch::kFloat32, device);
    auto in = io::SafetensorsFile::open(dir + "/inputs.safetensors");
    auto out = io::SafetensorsFile::open(dir + "/outputs.safetensors");
    for (const std::string batch : {"padded", "nopad"}) {
      auto ids = in.tensor(batch + ".input_ids").to(device);
      auto mask = in.contains(batch + ".attention_mask") ? in.tensor(batch + ".attention_mask").to(device)
                                                         : full_attention_mask(ids.size(0), ids.size(1), device);
      auto expected = out.tensor("generate." + batch + ".sequences");
      auto expected_new = expected.narrow(1, ids.size(1), expected.size(1) - ids.size(1));
      for (bool use_cache : {true, false}) {
        auto options = golden_generation(lm->transformer->config, expected_new.size(1));
        options.use_cache = use_cache;
        auto result = generate(lm, lm->embed(ids), mask, options);
        auto tokens = result.tokens.to(torch::kCPU);
        EXPECT_TRUE(torch::equal(tokens, expected_new))
            << batch << (use_cache ? " cached" : " uncached") << ": got " << tokens << " expected "
            << expected_new;
        if (use_cache && out.contains("generate." + batch + ".scores")) {
          EXPECT_TRUE(all_close(torch::stack(result.scores, 1), out.tensor("generate." + batch + ".scores"), kLogitAtol,
                                kLogitRtol, dir + " generate." + batch + ".scores"));
        }
      }
    }
  }
}

// What bf16 can promise (tests/model/bloom_bf16_test.cpp says why no absolute tolerance against
// fp32 holds for these large random weights): the logits of libtorch's own bf16 arithmetic on the
// same bf16 weights, up to the rounding of their last bit, and mostly the same top prediction as fp32.
TEST(BloomGolden, Bfloat16StaysCloseToFloat32) {
  for (const auto& dir : bloom_dirs()) {
    SCOPED_TRACE(dir);
    auto lm32 = load_bloom(dir, torch::kFloat32);
    auto lm16 = load_bloom(dir, torch::kBFloat16);
    auto ids = io::SafetensorsFile::open(dir + "/inputs.safetensors").tensor("nopad.input_ids");
    auto mask = full_attention_mask(ids.size(0), ids.size(1), torch::kCPU);
    torch::Tensor l32, l16;
    {
      torch::NoGradGuard no_grad;
      l32 = lm32->forward(ids, mask);
      l16 = lm16->forward(ids, mask).to(torch::kFloat32);
    }
    auto libtorch = lm16->forward(ids, mask).detach().to(torch::kFloat32);  // autograd on: libtorch's ops only
    const double scale = l32.abs().max().item<double>();
    const double ulp = std::ldexp(1.0, int(std::floor(std::log2(scale))) - 7);
    EXPECT_TRUE(all_close(l16, libtorch, 2 * ulp, 0.0, dir + " bf16 vs libtorch's bf16 logits"));
    double agree = (l16.argmax(-1) == l32.argmax(-1)).to(torch::kFloat32).mean().item<double>();
    EXPECT_GE(agree, 0.8);
  }
}

}  // namespace
}  // namespace medvqa::model
