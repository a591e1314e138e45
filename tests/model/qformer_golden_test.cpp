// Blip2QFormerModel + language_projection, and the whole ViT → Q-Former → BLOOM chain of
// Blip2ForConditionalGeneration, against the golden qformer set.
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "kernels/packed_kernels.h"
#include "model/fixtures.h"
#include "model/pack_for_inference.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;
constexpr double kAtol = 1e-5, kRtol = 1e-5;             // Q-Former outputs
constexpr double kLogitAtol = 5e-4, kLogitRtol = 1e-4;   // VLM logits

std::string qdir() { return testing::golden_root() + "/qformer"; }

TEST(QFormerGolden, MatchesTransformers) {
  torch::NoGradGuard no_grad;
  const auto device = testing::parity_device();
  auto m = testing::load_golden_vlm(torch::kFloat32, device);
  auto in = io::SafetensorsFile::open(qdir() + "/inputs.safetensors");
  auto out = io::SafetensorsFile::open(qdir() + "/outputs.safetensors");
  int cases = 0;
  for (const auto& name : in.names()) {
    const std::string prefix = "encoder_hidden_states_";
    if (name.rfind(prefix, 0) != 0) continue;
    ++cases;
    const std::string x = name.substr(prefix.size());
    auto tokens = in.tensor(name).to(device);
    torch::Tensor mask =
        in.contains("encoder_attention_mask_" + x) ? in.tensor("encoder_attention_mask_" + x).to(device) : torch::Tensor();
    std::vector<torch::Tensor> hs;
    auto queries = m->query_tokens.expand({tokens.size(0), -1, -1});
    auto last = m->qformer(queries, tokens, mask, &hs);
    const std::string o = "qformer." + x + ".";
    EXPECT_TRUE(all_close(last, out.tensor(o + "last_hidden_state"), kAtol, kRtol, o + "last_hidden_state"));
    EXPECT_TRUE(all_close(last.select(1, 0), out.tensor(o + "pooler_output"), kAtol, kRtol, o + "pooler_output"));
    for (size_t k = 0; k < hs.size(); ++k)
      EXPECT_TRUE(all_close(hs[k], out.tensor(o + "hidden_states." + std::to_string(k)), kAtol, kRtol,
                            o + "hidden_states." + std::to_string(k)));
    EXPECT_FALSE(out.contains(o + "hidden_states." + std::to_string(hs.size()))) << "fewer layers than the reference";
    EXPECT_TRUE(all_close(m->language_projection(last), out.tensor(o + "language_projection"), kAtol, kRtol,
                          o + "language_projection"));
  }
  EXPECT_GT(cases, 0);
}

TEST(VlmGolden, ForwardMatchesBlip2) {
  torch::NoGradGuard no_grad;
  const auto device = testing::parity_device();
  auto m = testing::load_golden_vlm(torch::kFloat32, device);
  auto in = io::SafetensorsFile::open(qdir() + "/inputs.safetensors");
  auto out = io::SafetensorsFile::open(qdir() + "/outputs.safetensors");
  auto pixels = in.tensor("vlm.pixel_values").to(device);
  auto ids = in.tensor("vlm.input_ids").to(device);
  auto mask = in.tensor("vlm.attention_mask");
  auto prefix = m->image_prefix(pixels);
  EXPECT_TRUE(all_close(prefix, out.tensor("vlm.forward.language_model_inputs"), kAtol, kRtol,
                        "vlm.forward.language_model_inputs"));
  auto logits = m->forward(pixels, ids, mask.to(device)).to(torch::kCPU);
  // Pad positions of the prompt are meaningless; the queries are always real.
  auto full_mask = torch::cat({torch::ones({ids.size(0), prefix.size(1)}, mask.options()), mask}, 1).to(torch::kBool);
  EXPECT_TRUE(all_close(logits.index({full_mask}), out.tensor("vlm.forward.logits").index({full_mask}), kLogitAtol,
                        kLogitRtol, "vlm.forward.logits (valid positions)"));
}

TEST(VlmGolden, GenerateMatchesBlip2) {
  const auto device = testing::parity_device();
  auto m = testing::load_golden_vlm(torch::kFloat32, device);
  auto in = io::SafetensorsFile::open(qdir() + "/inputs.safetensors");
  auto out = io::SafetensorsFile::open(qdir() + "/outputs.safetensors");
  auto expected = out.tensor("vlm.generate.sequences");
  // transformers 4.35 returns [dummy BOS] + new tokens when generating from inputs_embeds.
  auto expected_new = expected.narrow(1, 1, expected.size(1) - 1);
  GenerationOptions o;
  o.max_new_tokens = expected_new.size(1);
  o.eos_token_id = m->config.text.eos_token_id;
  o.pad_token_id = m->config.text.pad_token_id;
  o.keep_scores = true;
  auto result = m->generate(in.tensor("vlm.pixel_values").to(device), in.tensor("vlm.input_ids").to(device),
                            in.tensor("vlm.attention_mask").to(device), o);
  auto tokens = result.tokens.to(torch::kCPU);
  EXPECT_TRUE(torch::equal(tokens, expected_new)) << tokens << "\nexpected\n" << expected_new;
  EXPECT_TRUE(all_close(torch::stack(result.scores, 1), out.tensor("vlm.generate.scores"), kLogitAtol, kLogitRtol,
                        "vlm.generate.scores"));
}

TEST(VlmGolden, Bfloat16GenerationMostlyAgrees) {
  auto m32 = testing::load_golden_vlm(torch::kFloat32);
  auto m16 = testing::load_golden_vlm(torch::kBFloat16);
  auto in = io::SafetensorsFile::open(qdir() + "/inputs.safetensors");
  torch::NoGradGuard no_grad;
  auto pixels = in.tensor("vlm.pixel_values");
  auto ids = in.tensor("vlm.input_ids");
  auto mask = in.tensor("vlm.attention_mask");
  auto valid = torch::cat({torch::ones({ids.size(0), m32->config.num_query_tokens}, mask.options()), mask}, 1)
                   .to(torch::kBool);
  auto l32 = m32->forward(pixels, ids, mask).index({valid});
  auto l16 = m16->forward(pixels.to(torch::kBFloat16), ids, mask).to(torch::kFloat32).index({valid});
  // The tiny golden models have large random weights, so bf16 rounding compounds through three
  // towers: compare the relative RMS error and the top-1 agreement rather than elementwise.
  double rel_rms = ((l16 - l32).norm() / l32.norm()).item<double>();
  double agree = (l16.argmax(-1) == l32.argmax(-1)).to(torch::kFloat32).mean().item<double>();
  std::cout << "[max-error] vlm bf16 vs fp32: relative RMS " << rel_rms << ", top-1 agreement " << agree << std::endl;
  EXPECT_LT(rel_rms, 0.1);
  EXPECT_GE(agree, 0.8);
}

// Packed for inference (language model, and on AVX512-BF16 CPUs the image side in bf16 panels),
// the bf16 model stays as close to the fp32 model as before: the panel kernel sums in another
// order, which these large random weights amplify as much as any bf16 rounding.
TEST(VlmGolden, Bfloat16PackedForInferenceComputesAsBefore) {
  auto m16 = testing::load_golden_vlm(torch::kBFloat16);
  auto in = io::SafetensorsFile::open(qdir() + "/inputs.safetensors");
  torch::NoGradGuard no_grad;
  auto pixels = in.tensor("vlm.pixel_values").to(torch::kBFloat16);
  auto ids = in.tensor("vlm.input_ids");
  auto mask = in.tensor("vlm.attention_mask");
  auto before = m16->forward(pixels, ids, mask).to(torch::kFloat32);
  pack_for_inference(*m16, WeightFormat::kBFloat16);
  EXPECT_EQ(m16->language_projection->weight.numel() == 0, kernels::using_avx512_bf16());  // released
  auto after = m16->forward(pixels, ids, mask).to(torch::kFloat32);
  auto m32 = testing::load_golden_vlm(torch::kFloat32);
  auto exact = m32->forward(pixels.to(torch::kFloat32), ids, mask);
  auto rel = [&](const torch::Tensor& a, const torch::Tensor& b) { return ((a - b).norm() / b.norm()).item<double>(); };
  std::cout << "[max-error] vlm bf16 vs fp32, relative RMS: " << rel(before, exact) << ", packed " << rel(after, exact)
            << std::endl;
  EXPECT_LT(rel(after, exact), 1.25 * rel(before, exact));
}

}  // namespace
}  // namespace medvqa::model
