// model::linear routes inference products of a few fp32 rows through the row kernels; they must
// equal BLAS's, and anything that needs gradients must keep going through libtorch.
#include <gtest/gtest.h>

#include "kernels/bf16_kernels.h"
#include "model/activations.h"
#include "model/layer_norm.h"
#include "model/linear.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;

TEST(Linear, FewInferenceRowsEqualTheBlasProduct) {
  torch::manual_seed(3);
  auto w = torch::randn({37, 70}), b = torch::randn({37});
  torch::InferenceMode inference;
  // 1 row (matrix-vector), the kernels' 2..24, BLAS beyond; leading dimensions kept.
  for (int64_t m : {1, 2, 3, 5, 9, 24, 25, 40}) {
    auto x = torch::randn({m, 1, 70});
    auto y = linear(x, w, b);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{m, 1, 37}));
    EXPECT_TRUE(all_close(y, torch::nn::functional::linear(x, w, b), 1e-5, 1e-5, "rows " + std::to_string(m)));
    EXPECT_TRUE(all_close(model::linear(x, w), torch::nn::functional::linear(x, w), 1e-5, 1e-5, "no bias"));
  }
  auto strided = torch::randn({70, 4}).t();  // non-contiguous input rows
  EXPECT_TRUE(all_close(linear(strided, w, b), torch::nn::functional::linear(strided, w, b), 1e-5, 1e-5, "strided"));
}

// bf16 rows with bf16 weights (the ViT and Q-Former of a bf16 model): the dot kernel for 1..16
// rows where the CPU has AVX512-BF16, libtorch otherwise; the same product rounded to bf16.
TEST(Linear, FewBf16RowsGiveTheBf16RoundedProduct) {
  torch::manual_seed(6);
  auto w = torch::randn({37, 70}).to(torch::kBFloat16), b = torch::randn({37}).to(torch::kBFloat16);
  torch::InferenceMode inference;
  for (int64_t m : {1, 2, 5, 16, 17}) {
    auto x = torch::randn({m, 1, 70}).to(torch::kBFloat16);
    auto y = linear(x, w, b);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{m, 1, 37}));
    auto expected = torch::nn::functional::linear(x.to(torch::kFloat32), w.to(torch::kFloat32), b.to(torch::kFloat32));
    EXPECT_TRUE(all_close(y.to(torch::kFloat32), expected, 0.1, 1e-2, "rows " + std::to_string(m)));  // bf16 rounding
  }
}

TEST(Linear, GradientsStillFlowForFewRows) {
  torch::manual_seed(4);
  auto w = torch::randn({6, 10}, torch::requires_grad()), b = torch::randn({6}, torch::requires_grad());
  auto x = torch::randn({4, 10}, torch::requires_grad());
  linear(x, w, b).sum().backward();
  EXPECT_TRUE(all_close(w.grad(), x.detach().sum(0).unsqueeze(0).expand({6, 10}), 1e-5, 1e-5, "weight grad"));
  EXPECT_TRUE(all_close(x.grad(), w.detach().sum(0).unsqueeze(0).expand({4, 10}), 1e-5, 1e-5, "input grad"));
  EXPECT_TRUE(all_close(b.grad(), torch::full({6}, 4.0), 1e-6, 1e-6, "bias grad"));

  // Trainable weights behind a frozen input (a projection after a frozen tower), and a trainable
  // bias alone: the product must still record its graph.
  auto frozen_x = x.detach();
  auto w2 = w.detach().clone().requires_grad_(true);
  model::linear(frozen_x, w2).sum().backward();
  EXPECT_TRUE(all_close(w2.grad(), frozen_x.sum(0).unsqueeze(0).expand({6, 10}), 1e-5, 1e-5, "weight grad alone"));
  auto b2 = b.detach().clone().requires_grad_(true);
  linear(frozen_x, w.detach(), b2).sum().backward();
  EXPECT_TRUE(all_close(b2.grad(), torch::full({6}, 4.0), 1e-6, 1e-6, "bias grad alone"));
}

// bf16 activations that need gradients (bf16 training) skip the inference kernels: the gradients
// are those of the fp32 ops.
TEST(Linear, Bf16GeluAndLayerNormKeepTheirGradients) {
  torch::manual_seed(8);
  auto x = torch::randn({4, 16}).to(torch::kBFloat16).requires_grad_(true);
  bloom_gelu(x).to(torch::kFloat32).sum().backward();
  auto x32 = x.detach().to(torch::kFloat32).requires_grad_(true);
  torch::gelu(x32, "tanh").sum().backward();
  EXPECT_TRUE(all_close(x.grad().to(torch::kFloat32), x32.grad(), 2e-2, 2e-2, "gelu grad"));

  LayerNorm norm(16, 1e-5);
  norm->to(torch::kBFloat16);
  auto y = torch::randn({4, 16}).to(torch::kBFloat16).requires_grad_(true);
  norm(y).to(torch::kFloat32).pow(2).sum().backward();
  ASSERT_TRUE(y.grad().defined());
  ASSERT_TRUE(norm->weight.grad().defined());
  EXPECT_GT(norm->weight.grad().abs().sum().item<double>(), 0);
}

// bf16 inference activations take a one-pass kernel: its results must be the fp32 GELU rounded
// to bf16, give or take one bf16 step where the fp32 value sits next to a rounding boundary, or
// 1e-6 in the far negative tail, where torch's 1 + tanh(u) itself keeps no correct digits.
TEST(BloomGelu, Bf16KernelIsTheRoundedFp32Gelu) {
  torch::manual_seed(5);
  auto x = torch::cat({torch::randn({4100}) * 3, torch::linspace(-12, 12, 2001), torch::tensor({0.0f, -0.0f, 50.0f, -50.0f})})
               .to(torch::kBFloat16);
  auto expected = torch::gelu(x.to(torch::kFloat32), "tanh").to(torch::kBFloat16).to(torch::kFloat32);
  auto step = (expected.abs() * (1.0 / 128)).clamp_min(1e-6);  // one bf16 step (7 stored bits)
  torch::Tensor got;
  {
    torch::InferenceMode inference;
    got = bloom_gelu(x.view({-1, 55})).reshape({-1}).to(torch::kFloat32);
  }
  auto err = (got - expected).abs();
  EXPECT_TRUE((err <= step).all().item<bool>()) << "largest error " << err.max().item<float>();
  auto sizable = expected.abs() > 1e-2;
  EXPECT_GT((err == 0).masked_select(sizable).to(torch::kFloat32).mean().item<double>(), 0.99);  // almost all exact
  EXPECT_EQ(got[-2].item<float>(), 50.0f);
  EXPECT_EQ(got[-1].item<float>(), 0.0f);

  auto portable = torch::empty_like(x);
  kernels::bloom_gelu_bf16_portable(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()),
                                    reinterpret_cast<uint16_t*>(portable.data_ptr<at::BFloat16>()), x.numel());
  EXPECT_TRUE(((portable.to(torch::kFloat32) - expected).abs() <= step).all().item<bool>());
}

// bf16 LayerNorm at inference: the fp32 LayerNorm of the same values rounded to bf16, within one
// bf16 step (the statistics are summed in another order).
TEST(LayerNorm, Bf16KernelIsTheRoundedFp32LayerNorm) {
  torch::manual_seed(7);
  for (int64_t dim : {int64_t(1024), int64_t(77)}) {  // 77: a tail after the 8-wide loops
    LayerNorm norm(dim, 1e-5);
    {
      torch::NoGradGuard no_grad;
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.uniform_(-0.5, 0.5);
    }
    norm->to(torch::kBFloat16);
    auto x = (torch::randn({3, 5, dim}) * 4 + 1).to(torch::kBFloat16);
    auto expected = torch::layer_norm(x.to(torch::kFloat32), {dim}, norm->weight.to(torch::kFloat32),
                                      norm->bias.to(torch::kFloat32), 1e-5)
                        .to(torch::kBFloat16)
                        .to(torch::kFloat32);
    torch::Tensor got;
    {
      torch::InferenceMode inference;
      got = norm(x);
    }
    ASSERT_EQ(got.sizes(), x.sizes());
    ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
    auto err = (got.to(torch::kFloat32) - expected).abs();
    auto step = (expected.abs() * (1.0 / 128)).clamp_min(1e-3);
    EXPECT_TRUE((err <= step).all().item<bool>()) << "dim " << dim << ": largest error " << err.max().item<float>();
    EXPECT_GT((err == 0).to(torch::kFloat32).mean().item<double>(), 0.97) << "dim " << dim;

    auto portable = torch::empty_like(x);
    auto bits = [](const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); };
    kernels::layer_norm_bf16_portable(bits(x), bits(norm->weight), bits(norm->bias), 15, dim, 1e-5f,
                                      reinterpret_cast<uint16_t*>(portable.data_ptr<at::BFloat16>()));
    EXPECT_TRUE(((portable.to(torch::kFloat32) - expected).abs() <= step).all().item<bool>()) << "portable, dim " << dim;
  }
}

}  // namespace
}  // namespace medvqa::model
