// Weight-only bf16/int8 storage for CPU inference: the products equal fp32 products with the
// rounded weights, the kernels agree with their portable loops, and a packed BLOOM stays close.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/error.h"
#include "kernels/packed_kernels.h"
#include "model/bloom.h"
#include "model/pack_for_inference.h"
#include "model/packed_weight.h"
#include "model/pretrained.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;

// int8 products round the activations to int16 (per-row absmax scale) on the AVX2 path: errors of
// order √k · |x|max / 65534 · |w| (~5e-4 here), a hundredth of the int8 weights' own rounding.
constexpr double kInt8ActivationAtol = 2e-3;

// Row counts through the kernels (1-4 rows, groups of four, the limit) and through the widened
// BLAS blocks (beyond it); 70 input features leave a tail after the kernels' unrolled loops.
std::vector<int64_t> row_counts(const PackedWeight& packed) {
  const int64_t limit = packed.kernel_rows_limit();
  return {1, 2, 3, 4, 5, 9, limit, limit + 1, limit + 7};
}

TEST(PackedWeight, Bf16ProductIsTheFp32ProductOfTheRoundedWeight) {
  torch::manual_seed(1);
  auto w = torch::randn({37, 70}), b = torch::randn({37});
  PackedWeight packed(w, WeightFormat::kBFloat16);
  auto rounded = w.to(torch::kBFloat16).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(packed.dequantize(), rounded));
  for (int64_t m : row_counts(packed)) {
    auto x = torch::randn({m, 70});
    EXPECT_TRUE(all_close(packed.linear(x, b), torch::nn::functional::linear(x, rounded, b), 1e-5, 1e-5,
                          "rows " + std::to_string(m)));
  }
}

TEST(PackedWeight, Int8RowsKeepTheirLargestMagnitudeAndHalfAStepOfError) {
  torch::manual_seed(2);
  auto w = torch::randn({20, 70});
  w[3].zero_();  // an all-zero row must not divide by zero
  PackedWeight packed(w, WeightFormat::kInt8);
  auto deq = packed.dequantize();
  auto step = w.abs().amax(1, true) / 127.0;
  EXPECT_TRUE(((deq - w).abs() <= step / 2 + 1e-7).all().item<bool>());
  EXPECT_TRUE(all_close(deq.abs().amax(1), w.abs().amax(1), 1e-6, 1e-6, "row absmax"));
  EXPECT_TRUE(torch::equal(deq[3], torch::zeros({70})));
  auto b = torch::randn({20});
  for (int64_t m : row_counts(packed)) {
    auto x = torch::randn({m, 70});
    EXPECT_TRUE(all_close(packed.linear(x, b), torch::nn::functional::linear(x, deq, b), kInt8ActivationAtol, 1e-5,
                          "rows " + std::to_string(m)));
  }
  EXPECT_EQ(packed.nbytes(), 20 * 70 + 20 * 4);
}

// int4 products round each group of 32 activations to int8 on the fast paths: a relative error
// of about 0.5% (absmax/254 of randn groups), where the 4-bit weights' own rounding is ~9%.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat32) - b).norm() / b.norm()).item<double>();
}

TEST(PackedWeight, Int4GroupsStayWithinAStepAndMultiplyAsDequantized) {
  torch::manual_seed(2);
  auto w = torch::randn({40, 96}) * torch::linspace(0.1, 3.0, 40).unsqueeze(1);
  PackedWeight packed(w, WeightFormat::kInt4);
  EXPECT_EQ(packed.storage(), kernels::WeightStorage::kPackedInt4);
  auto deq = packed.dequantize();
  auto step = w.view({40, 3, 32}).abs().amax(2, true) / 8;
  EXPECT_TRUE(((deq - w).view({40, 3, 32}).abs() <= step * 1.001).all().item<bool>());
  auto b = torch::randn({40});
  for (int64_t m : row_counts(packed)) {
    auto x = torch::randn({m, 96});
    auto expected = torch::nn::functional::linear(x, deq, b);
    const bool kernel = m <= packed.kernel_rows_limit();
    EXPECT_EQ(packed.kernel_for(x) == kernels::LinearKernel::kInt4Rows, kernel);
    EXPECT_LT(relative_error(packed.linear(x, b), expected), kernel ? 0.015 : 1e-5) << "rows " << m;
    auto xb = x.to(torch::kBFloat16);  // a bf16 model's inputs: rounded to bf16 on the way out
    EXPECT_LT(relative_error(packed.linear(xb, b), torch::nn::functional::linear(xb.to(torch::kFloat32), deq, b)), 0.02)
        << "bf16 rows " << m;
  }
  auto ids = torch::tensor({{5, 0}, {39, 5}}, torch::kLong);
  EXPECT_TRUE(torch::equal(packed.rows(ids), deq.index_select(0, ids.reshape(-1)).view({2, 2, 96})));
  EXPECT_THROW(packed.rows(torch::tensor({40})), Error);
  EXPECT_EQ(packed.nbytes(), 40 * 64 + 40 * 4 * 2);  // 3 groups of a row take 2 pairs
}

TEST(PackedWeight, KeepsLeadingDimensionsAndTheInputDtype) {
  auto w = torch::randn({8, 32});
  PackedWeight packed(w, WeightFormat::kInt8);
  auto x = torch::randn({2, 3, 32});
  auto y = packed.linear(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 8}));
  EXPECT_TRUE(all_close(y, torch::matmul(x, packed.dequantize().t()), kInt8ActivationAtol, 1e-5, "3-d input"));
  EXPECT_EQ(packed.linear(x.to(torch::kBFloat16)).scalar_type(), torch::kBFloat16);
  auto ids = torch::tensor({{5, 0}, {7, 5}}, torch::kLong);
  EXPECT_TRUE(torch::equal(packed.rows(ids), packed.dequantize().index_select(0, ids.reshape(-1)).view({2, 2, 32})));
}

// bf16 inputs (a bf16 model): the kernels take a few rows; longer inputs multiply in bf16 through
// oneDNN where this CPU has AVX512 (bf16 weights as stored, int8 widened to bf16 in blocks), else
// in fp32 blocks. Either way the result is the product with the stored weights, rounded to bf16.
TEST(PackedWeight, Bf16InputsGiveTheBf16RoundedProduct) {
  torch::manual_seed(5);
  auto w = torch::randn({300, 70}), b = torch::randn({300});
  for (auto format : {WeightFormat::kBFloat16, WeightFormat::kInt8}) {
    PackedWeight packed(w, format);
    const int64_t limit = packed.kernel_rows_limit(torch::kBFloat16);
    EXPECT_LE(limit, packed.kernel_rows_limit(torch::kFloat32));
    // 2..kernels::kBf16DotRows: the AVX512-BF16 dot kernel for bf16 weights where the CPU has it.
    for (int64_t m : {int64_t(1), limit, limit + 1, int64_t(5), kernels::kBf16DotRows, kernels::kBf16DotRows + 1, int64_t(70)}) {
      auto x = torch::randn({m, 70}).to(torch::kBFloat16);
      auto y = packed.linear(x, b);
      ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
      auto expected = torch::nn::functional::linear(x.to(torch::kFloat32), packed.dequantize(), b);
      // bf16 keeps 8 significant bits: outputs of order √70 round by ~0.03, and int8 weights
      // widened to bf16 add as much again.
      EXPECT_TRUE(all_close(y.to(torch::kFloat32), expected, 0.1, 1e-2,
                            weight_format_name(format) + " rows " + std::to_string(m)));
    }
  }
}

// A bf16 model's weight is stored as panels where the CPU has AVX512-BF16 (rows elsewhere), and
// gives what the rows give: the weight itself, embedding rows, and products of bf16 and fp32
// inputs at every row count (45 features: an odd last pair).
TEST(PackedWeight, Bf16ModelsWeightsInPanelsGiveWhatRowsGive) {
  torch::manual_seed(6);
  auto w = torch::randn({70, 45}).to(torch::kBFloat16), b = torch::randn({70}).to(torch::kBFloat16);
  PackedWeight packed(w, WeightFormat::kBFloat16);
  EXPECT_EQ(packed.panels(), kernels::using_avx512_bf16());
  EXPECT_FALSE(PackedWeight(w.to(torch::kFloat32), WeightFormat::kBFloat16).panels());  // an fp32 model's
  const auto wf = w.to(torch::kFloat32), bf = b.to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(packed.dequantize(), wf));
  auto ids = torch::tensor({{69, 0, 33}, {32, 31, 1}});
  EXPECT_TRUE(torch::equal(packed.rows(ids), wf.index_select(0, ids.reshape({-1})).view({2, 3, 45})));
  EXPECT_THROW(packed.rows(torch::tensor({70})), Error);
  for (int64_t m : {1, 2, 16, 17, 100}) {
    auto x = torch::randn({m, 45}).to(torch::kBFloat16);
    auto y = packed.linear(x, b);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(all_close(y.to(torch::kFloat32), torch::nn::functional::linear(x.to(torch::kFloat32), wf, bf), 1e-4,
                          1.0 / 256, "bf16 rows " + std::to_string(m)));
    auto x32 = torch::randn({m, 45});
    EXPECT_TRUE(all_close(packed.linear(x32, bf), torch::nn::functional::linear(x32, wf, bf), 1e-5, 1e-5,
                          "fp32 rows " + std::to_string(m)));
  }
  // A bias that broadcasts (one value) is added after the product, not read as 70 values.
  auto x = torch::randn({5, 45}).to(torch::kBFloat16), one = torch::randn({1}).to(torch::kBFloat16);
  EXPECT_TRUE(all_close(packed.linear(x, one).to(torch::kFloat32),
                        torch::nn::functional::linear(x.to(torch::kFloat32), wf) + one.to(torch::kFloat32), 1e-3,
                        2.0 / 256, "broadcast bias"));
}

// The dot kernel (bf16 pairs summed into fp32) against the fp32 product of the same bf16 values,
// for every row and column remainder of its 4 x 4 blocks, k shorter than one 32-value step, with
// a masked tail, and wide enough that a thread's chunk is one block.
TEST(Bf16DotRows, IsTheFp32ProductOfTheBf16Values) {
  if (!kernels::using_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  torch::manual_seed(9);
  for (int64_t k : {int64_t(19), int64_t(77), int64_t(256), int64_t(4099)})
    for (int64_t m : {1, 2, 3, 4, 5, 7, 16})
      for (int64_t n : {1, 7, 33}) {
        auto x = torch::randn({m, k}).to(torch::kBFloat16), w = torch::randn({n, k}).to(torch::kBFloat16);
        auto y = torch::empty({m, n});
        kernels::bf16_dot_rows(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()), m,
                               reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>()), k, n, y.data_ptr<float>());
        auto expected = torch::mm(x.to(torch::kFloat32), w.to(torch::kFloat32).t());
        EXPECT_TRUE(all_close(y, expected, 1e-4, 1e-5, "m " + std::to_string(m) + " k " + std::to_string(k) + " n " + std::to_string(n)));
      }
}

// Long bf16 inputs multiply int8 weights widened to bf16 in one pass: exactly torch's widening
// (int8 → fp32, times the row scale, rounded to bf16).
TEST(PackedWeight, Int8WidensToBf16AsTorchRoundsIt) {
  torch::manual_seed(6);
  PackedWeight packed(torch::randn({21, 70}) * 5, WeightFormat::kInt8);
  auto widened = torch::empty({21, 70}, torch::kBFloat16);
  // Row scales of the dequantized rows: their absmax / 127.
  auto deq = packed.dequantize();
  auto scale = (deq.abs().amax(1) / 127.0).contiguous();
  auto q = (deq / scale.unsqueeze(1)).round().to(torch::kInt8).contiguous();
  kernels::int8_to_bf16(q.data_ptr<int8_t>(), scale.data_ptr<float>(), 21, 70,
                        reinterpret_cast<uint16_t*>(widened.data_ptr<at::BFloat16>()));
  auto expected = (q.to(torch::kFloat32) * scale.unsqueeze(1)).to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(widened, expected));
}

// Wide rows make the widened GEMM blocks smaller than the matrix (~1 MiB of weights each): every
// block must take its own rows and scales.
TEST(PackedWeight, LongInputsMultiplyEveryWidenedBlock) {
  torch::manual_seed(9);
  auto w = torch::randn({300, 8192}) * torch::linspace(0.1, 3.0, 300).unsqueeze(1);  // scales differ by row
  PackedWeight packed(w, WeightFormat::kInt8);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto x = torch::randn({80, 8192}).to(dtype);  // beyond every kernel limit: GEMM on widened blocks
    auto expected = torch::nn::functional::linear(x.to(torch::kFloat32), packed.dequantize());
    auto tol = dtype == torch::kBFloat16 ? 0.02 : 1e-4;
    EXPECT_TRUE(all_close(packed.linear(x).to(torch::kFloat32), expected, tol * expected.abs().max().item<double>(),
                          tol, std::string("int8 blocks, ") + (dtype == torch::kBFloat16 ? "bf16" : "fp32")));
  }
}

TEST(PackedWeight, KernelsAgreeWithThePortableLoops) {
  torch::manual_seed(3);
  const int64_t n = 33, k = 1000;
  auto x = torch::randn({5, k});
  PackedWeight bf16(torch::randn({n, k}), WeightFormat::kBFloat16);
  auto wb = bf16.dequantize().to(torch::kBFloat16).contiguous();
  auto wq = torch::randint(-127, 128, {n, k}).to(torch::kInt8).contiguous();
  auto scale = (torch::rand({n}) + 0.1) / 127.0;  // weights of order one, as packing makes them
  for (int64_t m : {1, 3, 5}) {
    auto fast = torch::empty({m, n}), portable = torch::empty({m, n});
    auto* bits = reinterpret_cast<const uint16_t*>(wb.data_ptr<at::BFloat16>());
    kernels::bf16_rows(x.data_ptr<float>(), m, bits, k, n, fast.data_ptr<float>());
    kernels::bf16_rows_portable(x.data_ptr<float>(), m, bits, k, n, portable.data_ptr<float>());
    EXPECT_TRUE(all_close(fast, portable, 1e-4, 1e-5, "bf16 rows " + std::to_string(m)));
    kernels::int8_rows(x.data_ptr<float>(), m, wq.data_ptr<int8_t>(), scale.data_ptr<float>(), k, n,
                       fast.data_ptr<float>());
    kernels::int8_rows_portable(x.data_ptr<float>(), m, wq.data_ptr<int8_t>(), scale.data_ptr<float>(), k, n,
                                portable.data_ptr<float>());
    EXPECT_TRUE(all_close(fast, portable, 5 * kInt8ActivationAtol, 1e-5, "int8 rows " + std::to_string(m)));
  }
  RecordProperty("avx2", kernels::using_avx2() ? "yes" : "no");
}

TEST(PackedWeight, RejectsWhatItCannotCompute) {
  PackedWeight packed(torch::randn({4, 6}), WeightFormat::kInt8);
  EXPECT_THROW(packed.linear(torch::randn({2, 5})), Error);
  auto x = torch::randn({1, 6}, torch::requires_grad());
  EXPECT_THROW(packed.linear(x), Error);
  EXPECT_THROW(PackedWeight(torch::randn({4}), WeightFormat::kInt8), Error);
  EXPECT_THROW(parse_weight_format("int3"), Error);
  EXPECT_EQ(parse_weight_format("int4"), WeightFormat::kInt4);
  EXPECT_THROW(PackedWeight(torch::randn({4, 48}), WeightFormat::kInt4), Error);  // not whole groups of 32
  EXPECT_THROW(PackedWeight(torch::full({4, 32}, 1e6), WeightFormat::kInt4), Error);  // beyond fp16 scales
  EXPECT_EQ(parse_weight_format("bf16"), WeightFormat::kBFloat16);
}

BloomConfig small_bloom() {
  BloomConfig c;
  c.vocab_size = 300;
  c.hidden_size = 64;
  c.n_layer = 2;
  c.n_head = 4;
  return c;
}

// Logits of every position: the first four tokens at once, then one cached step per token (the
// same tokens for every model, so small differences cannot change the path).
torch::Tensor cached_logits(BloomForCausalLM& lm, const torch::Tensor& ids, torch::Dtype dtype = torch::kFloat32) {
  const int64_t B = ids.size(0), T = ids.size(1);
  KvCache cache(lm->transformer->config, B, T, torch::TensorOptions().dtype(dtype));
  std::vector<torch::Tensor> logits;
  for (int64_t start = 0; start < T;) {
    const int64_t n = start == 0 ? 4 : 1;
    auto hidden = lm->transformer(lm->embed(ids.narrow(1, start, n)), torch::ones({B, start + n}, torch::kLong), &cache);
    logits.push_back(lm->logits(hidden));
    start += n;
  }
  return torch::cat(logits, 1);
}

TEST(PackedBloom, DecodesCloseToFp32WithFewerBytes) {
  torch::NoGradGuard no_grad;
  const int64_t T = 70;  // a full pass of 2 x 70 rows goes through the widened blocks in both formats
  auto ids = torch::randint(0, 300, {2, T}, torch::kLong);
  torch::manual_seed(4);
  BloomForCausalLM reference(small_bloom());
  reference->eval();
  auto expected = reference->forward(ids, full_attention_mask(2, T, torch::kCPU));
  EXPECT_TRUE(all_close(cached_logits(reference, ids), expected, 1e-5, 1e-5, "fp32 cached"));
  const int64_t fp32_bytes = reference->weight_bytes();
  const double spread = expected.abs().max().item<double>();
  for (auto [format, tolerance, ratio] : {std::tuple{WeightFormat::kBFloat16, 2e-2, 0.5},
                                          std::tuple{WeightFormat::kInt8, 3e-2, 0.25},
                                          std::tuple{WeightFormat::kInt4, 0.25, 0.14}}) {
    torch::manual_seed(4);
    BloomForCausalLM lm(small_bloom());
    lm->eval();
    pack_for_inference(*lm, format);
    const auto name = weight_format_name(format);
    EXPECT_TRUE(all_close(cached_logits(lm, ids), expected, tolerance * spread, 0, name + " cached"));
    EXPECT_TRUE(all_close(lm->forward(ids, full_attention_mask(2, T, torch::kCPU)), expected, tolerance * spread, 0,
                          name + " prefill"));
    // Linear weights and the tied table shrink; LayerNorms and biases stay fp32.
    EXPECT_LT(lm->weight_bytes(), fp32_bytes * (ratio + 0.1));
    EXPECT_GT(lm->weight_bytes(), fp32_bytes * ratio);
    EXPECT_EQ(lm->transformer->word_embeddings->weight.numel(), 0);
    EXPECT_THROW(pack_for_inference(*lm, format), Error);
    // Its released weights cannot be saved as empty tensors.
    testing::TempDir tmp;
    EXPECT_THROW(save_bloom(lm, tmp.path()), Error);
    EXPECT_FALSE(std::filesystem::exists(tmp.file("model.safetensors")));
  }
}

// A bf16 model packed in bf16 (panels where the CPU has AVX512-BF16) stays as close to the fp32
// model as before packing: only the order of the fp32 sums differs, and bf16 rounds either way.
TEST(PackedBloom, Bf16ModelStaysAsCloseToFp32AsBeforePacking) {
  torch::NoGradGuard no_grad;
  const int64_t T = 40;
  auto ids = torch::randint(0, 300, {2, T}, torch::kLong);
  auto mask = full_attention_mask(2, T, torch::kCPU);
  auto make = [] {
    torch::manual_seed(4);
    BloomForCausalLM lm(small_bloom());
    lm->eval();
    return lm;
  };
  auto exact = make()->forward(ids, mask);
  auto lm = make();
  lm->to(torch::kBFloat16);
  auto rel = [&](const torch::Tensor& a) { return ((a.to(torch::kFloat32) - exact).norm() / exact.norm()).item<double>(); };
  const double prefill = rel(lm->forward(ids, mask)), cached = rel(cached_logits(lm, ids, torch::kBFloat16));
  pack_for_inference(*lm, WeightFormat::kBFloat16);
  const double packed_prefill = rel(lm->forward(ids, mask)), packed_cached = rel(cached_logits(lm, ids, torch::kBFloat16));
  std::cout << "[max-error] bf16 bloom vs fp32, relative RMS: prefill " << prefill << " packed " << packed_prefill
            << ", cached " << cached << " packed " << packed_cached << std::endl;
  EXPECT_LT(packed_prefill, 1.25 * prefill);
  EXPECT_LT(packed_cached, 1.25 * cached);
}

}  // namespace
}  // namespace medvqa::model
