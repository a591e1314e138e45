// 4-bit weights (Q4_0 layout): fp16 scales convert as IEEE does, a group keeps its extreme value
// and half a step of error, the bytes hold the nibbles where llama.cpp puts them, and the fast
// products are the portable product of the int8-rounded activations.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/int4_kernels.h"
#include "kernels/fp16.h"
#include "testing/testing.h"

namespace medvqa::kernels {
namespace {

TEST(Fp16, EveryFiniteHalfSurvivesTheRoundTripAndTorchAgrees) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;  // NaNs
    const float f = half_to_float(uint16_t(h));
    ASSERT_EQ(float_to_half(f), h) << h;
    ASSERT_EQ(f, float(c10::Half(uint16_t(h), c10::Half::from_bits()))) << h;
  }
  // Rounding to nearest even, overflow and subnormals, as torch's conversion rounds.
  for (float f : {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65519.0f, 65520.0f, 1e6f, 3e-8f, 2.9802322e-8f,
                  6.1e-5f, -0.1f, 0.0f, -0.0f})
    EXPECT_EQ(float_to_half(f), c10::Half(f).x) << f;
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
}

TEST(Int4, GroupsKeepTheirExtremeAndHalfAStep) {
  torch::manual_seed(1);
  const int64_t n = 5, k = 96;
  auto w = torch::randn({n, k}) * torch::linspace(0.01, 10.0, n).unsqueeze(1);
  w[2].zero_();  // a group of zeros: scale 0, values 0
  auto q = torch::empty({int4_bytes(n, k)}, torch::kUInt8);
  auto scale = torch::empty({int4_scales(n, k)}, torch::kInt16);
  quantize_int4(w.data_ptr<float>(), n, k, q.data_ptr<uint8_t>(), reinterpret_cast<uint16_t*>(scale.data_ptr<int16_t>()));
  auto deq = torch::empty({n, k});
  int4_to_float(q.data_ptr<uint8_t>(), reinterpret_cast<uint16_t*>(scale.data_ptr<int16_t>()), n, k, deq.data_ptr<float>());
  auto groups = w.view({n, k / kInt4Group, kInt4Group}), dg = deq.view({n, k / kInt4Group, kInt4Group});
  auto step = groups.abs().amax(2, true) / 8;
  // fp16 scales: the step itself is off by up to 2^-11.
  EXPECT_TRUE((((dg - groups).abs() <= step * (0.5 + 1e-3) + 1e-7) | (groups.abs() / step >= 7.5)).all().item<bool>());
  EXPECT_TRUE(((dg - groups).abs() <= step * 1.001 + 1e-7).all().item<bool>());
  // The extreme maps to -8 steps exactly (up to the fp16 scale).
  auto extreme = groups.gather(2, groups.abs().argmax(2, true)), back = dg.gather(2, groups.abs().argmax(2, true));
  EXPECT_TRUE(testing::all_close(back, extreme, 1e-7, 1e-3, "extremes"));
  EXPECT_TRUE(torch::equal(deq[2], torch::zeros({k})));
}

TEST(Int4, PairsOfGroupsShareTheirBytes) {
  // Two groups with -8 as their extreme (scale 1): q[p] = p % 16 - 8 in the first, 7 - p % 16 in
  // the second; byte b holds q[b] + 8 in its low nibble, q[32 + b] + 8 in its high one.
  std::vector<float> w(64);
  for (int p = 0; p < 64; ++p) w[size_t(p)] = float(p < 32 ? p % 16 - 8 : 7 - p % 16);
  uint8_t q[32];
  uint16_t scale[2];
  quantize_int4(w.data(), 1, 64, q, scale);
  EXPECT_EQ(half_to_float(scale[0]), 1.0f);
  EXPECT_EQ(half_to_float(scale[1]), 1.0f);
  for (int b = 0; b < 32; ++b) {
    EXPECT_EQ(q[b] & 0x0F, b % 16) << b;
    EXPECT_EQ(q[b] >> 4, 15 - b % 16) << b;
  }
  // One group alone: its pair's second group is zero, scale 0.
  EXPECT_EQ(int4_bytes(1, 32), 32);
  EXPECT_EQ(int4_scales(1, 32), 2);
  quantize_int4(w.data(), 1, 32, q, scale);
  EXPECT_EQ(scale[1], 0);
  for (int b = 0; b < 32; ++b) EXPECT_EQ(q[b], (8 << 4) | (b % 16)) << b;
}

// The fast kernels round each group of 32 activations to int8 (absmax/127, nearest even):
// against the portable product of those rounded activations only the order of fp32 sums differs.
torch::Tensor rounded_activations(const torch::Tensor& x) {
  auto g = x.view({x.size(0), -1, kInt4Group});
  auto d = g.abs().amax(2, true) / 127;
  return (torch::where(d > 0, (g / d).round(), torch::zeros_like(g)) * d).view_as(x);
}

TEST(Int4, FastProductsAreThePortableProductOfRoundedActivations) {
  torch::manual_seed(3);
  for (int64_t k : {32, 96, 1024, 4128, 1600})  // 1, 3 (an odd last pair), 32, 129 groups; 25 pairs: 8-pair blocks and a tail
    for (int64_t m : {1, 2, 3, 4, 5, 9})
      for (int64_t n : {1, 7, 33}) {
        auto w = torch::randn({n, k});
        auto q = torch::empty({int4_bytes(n, k)}, torch::kUInt8);
        auto scale = torch::empty({int4_scales(n, k)}, torch::kInt16);
        auto* s = reinterpret_cast<uint16_t*>(scale.data_ptr<int16_t>());
        quantize_int4(w.data_ptr<float>(), n, k, q.data_ptr<uint8_t>(), s);
        auto x = torch::randn({m, k}), xr = rounded_activations(x);
        auto expected = torch::empty({m, n}), exact = torch::empty({m, n});
        int4_rows_portable(xr.data_ptr<float>(), m, q.data_ptr<uint8_t>(), s, k, n, expected.data_ptr<float>());
        int4_rows_portable(x.data_ptr<float>(), m, q.data_ptr<uint8_t>(), s, k, n, exact.data_ptr<float>());
        const std::string where = "m " + std::to_string(m) + " k " + std::to_string(k) + " n " + std::to_string(n);
        auto deq = torch::empty({n, k});
        int4_to_float(q.data_ptr<uint8_t>(), s, n, k, deq.data_ptr<float>());
        EXPECT_TRUE(testing::all_close(exact, torch::mm(x, deq.t()), 1e-3, 1e-4, "portable " + where));
        for (auto* kernel : {&int4_rows, &int4_rows_avx2}) {
          auto y = torch::empty({m, n});
          kernel(x.data_ptr<float>(), m, q.data_ptr<uint8_t>(), s, k, n, y.data_ptr<float>());
          EXPECT_TRUE(testing::all_close(y, expected, 1e-3, 1e-4, where));
        }
      }
  RecordProperty("avx512_vnni", using_avx512_vnni() ? "yes" : "no");
}

}  // namespace
}  // namespace medvqa::kernels
