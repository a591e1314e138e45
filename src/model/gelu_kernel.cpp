#include "model/gelu_kernel.h"

#include <algorithm>
#include <cmath>

#include "model/bf16_bits.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define MEDVQA_X86 1
#endif

namespace medvqa::model::kernels {
namespace {

// gelu_tanh(x) = 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), written as
// x / (1 + exp(-2u)): the same function, without tanh's cancellation for negative x.
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

// Beyond exp's range (x below about -5.6) the value is below 1e-37: ±0, as in torch.
float gelu(float x) {
  const float t = -2.0f * kSqrt2OverPi * (x + kCubic * x * x * x);
  return t > 88.0f ? x * 0.0f : x / (1.0f + std::exp(std::max(t, -87.0f)));
}

void gelu_portable(const uint16_t* x, uint16_t* y, int64_t first, int64_t last) {
  for (int64_t i = first; i < last; ++i) y[i] = float_to_bf16(gelu(bf16_to_float(x[i])));
}

#ifdef MEDVQA_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")

// exp(t) for t in [-87, 88]: t = n·ln2 + r with |r| ≤ ln2/2, exp(r) by its Taylor series to r⁶
// (relative error < 2e-7, far below bf16's 4e-3), 2ⁿ built in the exponent bits.
__m256 exp8(__m256 t) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.4426950408889634f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), t);  // ln2 in two parts
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(two_n));
}

void gelu_avx2(const uint16_t* x, uint16_t* y, int64_t first, int64_t last) {
  int64_t i = first;
  for (; i + 8 <= last; i += 8) {
    const __m256 v = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))), 16));
    const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    const __m256 t = _mm256_mul_ps(_mm256_set1_ps(-2.0f * kSqrt2OverPi), _mm256_fmadd_ps(_mm256_set1_ps(kCubic), v3, v));
    const __m256 beyond = _mm256_cmp_ps(t, _mm256_set1_ps(88.0f), _CMP_GT_OQ);
    const __m256 e = exp8(_mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f)));
    store_bf16x8(y + i, _mm256_blendv_ps(_mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
                                         _mm256_mul_ps(v, _mm256_setzero_ps()), beyond));
  }
  gelu_portable(x, y, i, last);
}

#pragma GCC pop_options

bool have_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

// Chunks of 16K values (64 KiB in and out) over the threads.
template <typename Fn>
void split(int64_t n, const Fn& fn) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk));
}

}  // namespace

void bloom_gelu_bf16(const uint16_t* x, uint16_t* y, int64_t n) {
#ifdef MEDVQA_X86
  static const bool avx2 = have_avx2();
  if (avx2) return split(n, [&](int64_t first, int64_t last) { gelu_avx2(x, y, first, last); });
#endif
  bloom_gelu_bf16_portable(x, y, n);
}

void bloom_gelu_bf16_portable(const uint16_t* x, uint16_t* y, int64_t n) {
  split(n, [&](int64_t first, int64_t last) { gelu_portable(x, y, first, last); });
}

}  // namespace medvqa::model::kernels
