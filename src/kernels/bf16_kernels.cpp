#include "kernels/bf16_kernels.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu_features.h"
#include "kernels/kernel_support.h"

namespace medvqa::kernels {
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

void layer_norm_row_portable(const uint16_t* x, const uint16_t* w, const uint16_t* b, int64_t dim, float eps,
                             uint16_t* y) {
  float sum = 0;
  for (int64_t i = 0; i < dim; ++i) sum += bf16_to_float(x[i]);
  const float mean = sum / float(dim);
  float squares = 0;
  for (int64_t i = 0; i < dim; ++i) {
    const float d = bf16_to_float(x[i]) - mean;
    squares += d * d;
  }
  const float rstd = 1.0f / std::sqrt(squares / float(dim) + eps);
  for (int64_t i = 0; i < dim; ++i)
    y[i] = float_to_bf16((bf16_to_float(x[i]) - mean) * rstd * bf16_to_float(w[i]) + bf16_to_float(b[i]));
}

#ifdef MEDVQA_X86
MEDVQA_TARGET_PUSH("avx2,fma")

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
    const __m256 v = load_bf16x8(x + i);
    const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    const __m256 t = _mm256_mul_ps(_mm256_set1_ps(-2.0f * kSqrt2OverPi), _mm256_fmadd_ps(_mm256_set1_ps(kCubic), v3, v));
    const __m256 beyond = _mm256_cmp_ps(t, _mm256_set1_ps(88.0f), _CMP_GT_OQ);
    const __m256 e = exp8(_mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f)));
    store_bf16x8(y + i, _mm256_blendv_ps(_mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
                                         _mm256_mul_ps(v, _mm256_setzero_ps()), beyond));
  }
  gelu_portable(x, y, i, last);
}

void layer_norm_row_avx2(const uint16_t* x, const uint16_t* w, const uint16_t* b, int64_t dim, float eps,
                         uint16_t* y) {
  const int64_t body = dim / 8 * 8;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < body; i += 8) acc = _mm256_add_ps(acc, load_bf16x8(x + i));
  float sum = sum8(acc);
  for (int64_t i = body; i < dim; ++i) sum += bf16_to_float(x[i]);
  const float mean = sum / float(dim);
  const __m256 m = _mm256_set1_ps(mean);
  acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < body; i += 8) {
    const __m256 d = _mm256_sub_ps(load_bf16x8(x + i), m);
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  float squares = sum8(acc);
  for (int64_t i = body; i < dim; ++i) {
    const float d = bf16_to_float(x[i]) - mean;
    squares += d * d;
  }
  const float rstd = 1.0f / std::sqrt(squares / float(dim) + eps);
  const __m256 r = _mm256_set1_ps(rstd);
  for (int64_t i = 0; i < body; i += 8) {
    const __m256 n = _mm256_mul_ps(_mm256_sub_ps(load_bf16x8(x + i), m), r);
    store_bf16x8(y + i, _mm256_fmadd_ps(n, load_bf16x8(w + i), load_bf16x8(b + i)));
  }
  for (int64_t i = body; i < dim; ++i)
    y[i] = float_to_bf16((bf16_to_float(x[i]) - mean) * rstd * bf16_to_float(w[i]) + bf16_to_float(b[i]));
}

MEDVQA_TARGET_POP
#endif

// Elementwise work in chunks of 16K values (64 KiB in and out); rows in chunks of about as much.
constexpr int64_t kChunkValues = 1 << 14;
int64_t rows_per_chunk(int64_t dim) { return std::max<int64_t>(1, kChunkValues / std::max<int64_t>(dim, 1)); }

}  // namespace

void bloom_gelu_bf16(const uint16_t* x, uint16_t* y, int64_t n) {
#ifdef MEDVQA_X86
  if (using_avx2()) return split(n, kChunkValues, [&](int64_t first, int64_t last) { gelu_avx2(x, y, first, last); });
#endif
  bloom_gelu_bf16_portable(x, y, n);
}

void bloom_gelu_bf16_portable(const uint16_t* x, uint16_t* y, int64_t n) {
  split(n, kChunkValues, [&](int64_t first, int64_t last) { gelu_portable(x, y, first, last); });
}

void layer_norm_bf16(const uint16_t* x, const uint16_t* weight, const uint16_t* bias, int64_t rows, int64_t dim,
                     float eps, uint16_t* y) {
#ifdef MEDVQA_X86
  if (using_avx2())
    return split(rows, rows_per_chunk(dim), [&](int64_t first, int64_t last) {
      for (int64_t r = first; r < last; ++r) layer_norm_row_avx2(x + r * dim, weight, bias, dim, eps, y + r * dim);
    });
#endif
  layer_norm_bf16_portable(x, weight, bias, rows, dim, eps, y);
}

void layer_norm_bf16_portable(const uint16_t* x, const uint16_t* weight, const uint16_t* bias, int64_t rows,
                              int64_t dim, float eps, uint16_t* y) {
  split(rows, rows_per_chunk(dim), [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) layer_norm_row_portable(x + r * dim, weight, bias, dim, eps, y + r * dim);
  });
}

}  // namespace medvqa::kernels
