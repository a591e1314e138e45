// The panel GEMM for bf16 inference: the panels hold the weight (padding zero), and the product is
// the fp32 sum of the bf16 products rounded once, for every remainder of its row blocks, panels
// and feature pairs, without writing past the output.
#include <gtest/gtest.h>

#include "kernels/bf16_gemm.h"
#include "kernels/packed_kernels.h"
#include "testing/testing.h"

namespace medvqa::kernels {
namespace {

uint16_t* bits(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

torch::Tensor pack(torch::Tensor w) {
  auto panels = torch::empty({bf16_panels_size(w.size(0), w.size(1))}, torch::kBFloat16);
  pack_bf16_panels(bits(w), w.size(0), w.size(1), bits(panels));
  return panels;
}

TEST(Bf16Panels, UnpackGivesBackEveryRowAndThePaddingIsZero) {
  torch::manual_seed(3);
  for (int64_t n : {1, 31, 32, 33, 70})
    for (int64_t k : {1, 2, 7, 64}) {
      auto w = torch::randn({n, k}).to(torch::kBFloat16);
      auto panels = pack(w);
      EXPECT_EQ(panels.numel(), (n + 31) / 32 * 32 * ((k + 1) / 2 * 2));
      // The padding is zero: as many nonzero values as the weight has.
      EXPECT_EQ(panels.ne(0).sum().item<int64_t>(), w.ne(0).sum().item<int64_t>());
      auto back = torch::empty({n, k}, torch::kBFloat16);
      unpack_bf16_panels(bits(panels), k, 0, n, bits(back));
      EXPECT_TRUE(torch::equal(back, w)) << n << " x " << k;
      const int64_t first = n / 2, count = n - first;
      auto some = torch::empty({count, k}, torch::kBFloat16);
      unpack_bf16_panels(bits(panels), k, first, count, bits(some));
      EXPECT_TRUE(torch::equal(some, w.narrow(0, first, count))) << n << " x " << k << " from row " << first;
    }
}

TEST(Bf16PanelGemm, IsTheFp32ProductOfTheBf16ValuesRoundedOnce) {
  if (!using_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  torch::manual_seed(7);
  // Rows: one, inside a block of 8, whole blocks, around the 64-row work items. Features: one, an
  // odd count (the lone last feature), whole pairs. Outputs: inside, at and past a panel's 32.
  for (int64_t m : {1, 3, 8, 9, 64, 65, 130})
    for (int64_t k : {1, 2, 19, 192})
      for (int64_t n : {1, 17, 32, 33, 70})
        for (bool with_bias : {false, true}) {
          auto x = torch::randn({m, k}).to(torch::kBFloat16), w = torch::randn({n, k}).to(torch::kBFloat16);
          auto b = torch::randn({n}).to(torch::kBFloat16);
          auto panels = pack(w);
          // The output with a guard after it: the masked stores write n columns, no more.
          auto out = torch::full({m * n + 64}, 7.0, torch::kBFloat16);
          bf16_panel_gemm(bits(x), m, k, bits(panels), n, with_bias ? bits(b) : nullptr, bits(out), n);
          auto expected = torch::mm(x.to(torch::kFloat32), w.to(torch::kFloat32).t());
          if (with_bias) expected += b.to(torch::kFloat32);
          const auto name = "m " + std::to_string(m) + " k " + std::to_string(k) + " n " + std::to_string(n) +
                            (with_bias ? " bias" : "");
          // Rounded once to bf16's 8 bits: within half a unit in the last place of the exact sum,
          // plus what a different order of the fp32 additions moves it.
          auto y = out.narrow(0, 0, m * n).view({m, n}).to(torch::kFloat32);
          EXPECT_TRUE(testing::all_close(y, expected, 1e-4, 1.0 / 256, name));
          EXPECT_TRUE(torch::equal(out.narrow(0, m * n, 64), torch::full({64}, 7.0, torch::kBFloat16))) << name;
        }
}

// Output columns [0, n) of rows ldy apart: the columns in between keep their values.
TEST(Bf16PanelGemm, WritesRowsOfAWiderOutput) {
  if (!using_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  torch::manual_seed(8);
  const int64_t m = 11, k = 40, n = 35, ldy = 50;
  auto x = torch::randn({m, k}).to(torch::kBFloat16), w = torch::randn({n, k}).to(torch::kBFloat16);
  auto panels = pack(w);
  auto out = torch::full({m, ldy}, 7.0, torch::kBFloat16);
  bf16_panel_gemm(bits(x), m, k, bits(panels), n, nullptr, bits(out), ldy);
  auto expected = torch::mm(x.to(torch::kFloat32), w.to(torch::kFloat32).t());
  EXPECT_TRUE(testing::all_close(out.narrow(1, 0, n).to(torch::kFloat32), expected, 1e-4, 1.0 / 256, "columns"));
  EXPECT_TRUE(torch::equal(out.narrow(1, n, ldy - n), torch::full({m, ldy - n}, 7.0, torch::kBFloat16)));
}

// int8 rows widened into panels hold what torch's widening gives (int8 → fp32, times the row's
// scale, rounded to bf16), for every remainder of 16 pairs and 32 rows.
TEST(Bf16Panels, Int8RowsWidenAsTorchRoundsThem) {
  torch::manual_seed(4);
  for (int64_t n : {1, 31, 33, 70})
    for (int64_t k : {1, 2, 7, 33, 64}) {
      auto q = torch::randint(-127, 128, {n, k}).to(torch::kInt8);
      auto scale = (torch::rand({n}) + 0.1) / 127.0;
      auto widened = (q.to(torch::kFloat32) * scale.unsqueeze(1)).to(torch::kBFloat16);
      auto panels = torch::full({bf16_panels_size(n, k)}, 3.0, torch::kBFloat16);
      pack_int8_panels(q.data_ptr<int8_t>(), scale.data_ptr<float>(), n, k, bits(panels));
      EXPECT_TRUE(torch::equal(panels, pack(widened))) << n << " x " << k;
    }
}

}  // namespace
}  // namespace medvqa::kernels
