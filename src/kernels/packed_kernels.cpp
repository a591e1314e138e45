#include "kernels/packed_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/kernel_support.h"

namespace medvqa::kernels {
namespace {

inline float widen(uint16_t bf16) { return bf16_to_float(bf16); }
inline float widen(int8_t q) { return float(q); }
inline float widen(float f) { return f; }

// Portable loops: M input rows share each widened weight.
template <typename T>
void rows_portable(const float* x, int64_t m, const T* w, const float* scale, int64_t k, int64_t first, int64_t last,
                   float* y, int64_t ldy) {
  for (int64_t j = first; j < last; ++j) {
    const T* row = w + j * k;
    for (int64_t i = 0; i < m; ++i) {
      const float* xi = x + i * k;
      float s = 0;
      for (int64_t p = 0; p < k; ++p) s += xi[p] * widen(row[p]);
      y[i * ldy + j] = scale ? s * scale[j] : s;
    }
  }
}

#ifdef MEDVQA_X86
MEDVQA_TARGET_PUSH("avx2,fma")

inline __m256 load8(const uint16_t* p) { return load_bf16x8(p); }
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)p)));
}

// Dot products of one weight row with M input rows, U·8 weights per step: U·M independent
// accumulators hide the FMA latency (8 of them), and the loops over them are unrolled so that
// they live in registers.
template <int M, typename T, int U = (M == 1 ? 8 : M == 2 ? 4 : 2)>
void dot_rows(const float* x, int64_t k, const T* row, float* out) {
  __m256 acc[M][U];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) acc[i][u] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 * U <= k; p += 8 * U) {
    __m256 w[U];
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) w[u] = load8(row + p + 8 * u);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) acc[i][u] = _mm256_fmadd_ps(w[u], _mm256_loadu_ps(x + i * k + p + 8 * u), acc[i][u]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    __m256 sum = acc[i][0];
#pragma GCC unroll 8
    for (int u = 1; u < U; ++u) sum = _mm256_add_ps(sum, acc[i][u]);
    float s = sum8(sum);
    for (int64_t q = p; q < k; ++q) s += x[i * k + q] * widen(row[q]);
    out[i] = s;
  }
}

// int8 weights against int16 activations: vpmaddwd multiplies 16 pairs and adds neighbours
// into 8 int32 lanes, half the instructions of widening to fp32. The int32 sums move into fp32
// every 2048 weights, before 128 steps of ≤ 2·127·32767 could overflow.
template <int M>
void dot_rows(const int16_t* x, int64_t k, const int8_t* row, float* out) {
  __m256 total[M];
  __m256i acc[M];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) total[i] = _mm256_setzero_ps();
  int64_t p = 0;
  while (p + 16 <= k) {
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_si256();
    const int64_t end = std::min(k - 15, p + 2048);
    for (; p < end; p += 16) {
      __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(row + p)));
#pragma GCC unroll 4
      for (int i = 0; i < M; ++i)
        acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(w, _mm256_loadu_si256((const __m256i*)(x + i * k + p))));
    }
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) total[i] = _mm256_add_ps(total[i], _mm256_cvtepi32_ps(acc[i]));
  }
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    float s = sum8(total[i]);
    for (int64_t q = p; q < k; ++q) s += float(x[i * k + q]) * float(row[q]);
    out[i] = s;
  }
}

// Output rows [first, last) for all m input rows; out[r] is scaled by the weight row's scale
// and the input row's (int16 activations), where there are scales.
template <typename X, typename T>
void rows_avx2(const X* x, const float* x_scale, int64_t m, const T* w, const float* scale, int64_t k, int64_t first,
               int64_t last, float* y, int64_t ldy) {
  float out[4];
  for (int64_t j = first; j < last; ++j) {
    const T* row = w + j * k;
    // Groups of four input rows: the weight row stays in L1 between groups.
    for (int64_t i = 0; i < m; i += 4) {
      const int64_t n = std::min<int64_t>(4, m - i);
      const X* xi = x + i * k;
      switch (n) {
        case 1: dot_rows<1>(xi, k, row, out); break;
        case 2: dot_rows<2>(xi, k, row, out); break;
        case 3: dot_rows<3>(xi, k, row, out); break;
        default: dot_rows<4>(xi, k, row, out); break;
      }
      for (int64_t r = 0; r < n; ++r)
        y[(i + r) * ldy + j] = out[r] * (scale ? scale[j] : 1.0f) * (x_scale ? x_scale[i + r] : 1.0f);
    }
  }
}

// Rows of int8 weights times their scales, rounded to bf16.
void int8_rows_to_bf16_avx2(const int8_t* w, const float* scale, int64_t k, int64_t first, int64_t last,
                            uint16_t* out) {
  for (int64_t j = first; j < last; ++j) {
    const int8_t* row = w + j * k;
    uint16_t* dst = out + j * k;
    const __m256 s = _mm256_set1_ps(scale[j]);
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) store_bf16x8(dst + p, _mm256_mul_ps(load8(row + p), s));
    for (; p < k; ++p) dst[p] = float_to_bf16(float(row[p]) * scale[j]);
  }
}

MEDVQA_TARGET_POP

MEDVQA_TARGET_PUSH("avx512f,avx512bw,avx512bf16")

// MI input rows against NJ weight rows, 32 bf16 values per step (a masked load for the tail):
// MI·NJ accumulators, each vdpbf16ps adding 16 pairs of products.
template <int MI, int NJ>
void dot_block_bf16(const uint16_t* x, int64_t k, const uint16_t* w, float* y, int64_t ldy) {
  __m512 acc[MI][NJ];
#pragma GCC unroll 4
  for (int i = 0; i < MI; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p += 32) {
    const __mmask32 mask = k - p >= 32 ? ~__mmask32(0) : (__mmask32(1) << (k - p)) - 1;
    __m512i wv[NJ];
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) wv[j] = _mm512_maskz_loadu_epi16(mask, w + j * k + p);
#pragma GCC unroll 4
    for (int i = 0; i < MI; ++i) {
      const __m512i xv = _mm512_maskz_loadu_epi16(mask, x + i * k + p);
#pragma GCC unroll 4
      for (int j = 0; j < NJ; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)xv, (__m512bh)wv[j]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < MI; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) y[i * ldy + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int NJ>
void dot_rows_bf16(const uint16_t* x, int64_t m, int64_t k, const uint16_t* w, float* y, int64_t ldy) {
  // Blocks of four input rows: the NJ weight rows stay in L1 while every input row passes.
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) dot_block_bf16<4, NJ>(x + i * k, k, w, y + i * ldy, ldy);
  switch (m - i) {
    case 3: dot_block_bf16<3, NJ>(x + i * k, k, w, y + i * ldy, ldy); break;
    case 2: dot_block_bf16<2, NJ>(x + i * k, k, w, y + i * ldy, ldy); break;
    case 1: dot_block_bf16<1, NJ>(x + i * k, k, w, y + i * ldy, ldy); break;
    default: break;
  }
}

// Four weight rows at a time against blocks of up to four input rows: up to 16 independent
// accumulators (vdpbf16ps takes several cycles before its result can accumulate again), 8 loads
// per 16 dot products. Measured against 4 x 2 blocks: equal or faster on every shape, 1.2x on
// 2048 x 6144 at 8-16 rows.
void bf16_dot_rows_avx512(const uint16_t* x, int64_t m, const uint16_t* w, int64_t k, int64_t first, int64_t last,
                          float* y, int64_t ldy) {
  int64_t j = first;
  for (; j + 4 <= last; j += 4) dot_rows_bf16<4>(x, m, k, w + j * k, y + j, ldy);
  for (; j < last; ++j) dot_rows_bf16<1>(x, m, k, w + j * k, y + j, ldy);
}

MEDVQA_TARGET_POP
#endif

// Output rows in blocks that each stream a few tens of KiB of weights, split over the threads.
template <typename Block>
void split_rows(int64_t n, int64_t row_bytes, const Block& block_fn) {
  split(n, std::max<int64_t>(1, (int64_t(1) << 15) / row_bytes), block_fn);
}

template <typename T>
void rows_portable_split(const float* x, int64_t m, const T* w, const float* scale, int64_t k, int64_t n, float* y) {
  split_rows(n, k * int64_t(sizeof(T)),
             [&](int64_t first, int64_t last) { rows_portable(x, m, w, scale, k, first, last, y, n); });
}

// Weights without scales (fp32, bf16): the AVX2 kernels where the CPU has them.
template <typename T>
void unscaled_rows(const float* x, int64_t m, const T* w, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx2())
    return split_rows(n, k * int64_t(sizeof(T)), [&](int64_t first, int64_t last) {
      rows_avx2(x, static_cast<const float*>(nullptr), m, w, static_cast<const float*>(nullptr), k, first, last, y, n);
    });
#endif
  rows_portable_split(x, m, w, nullptr, k, n, y);
}
}  // namespace

void bf16_rows(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y) {
  unscaled_rows(x, m, w, k, n, y);
}

void bf16_dot_rows(const uint16_t* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx512_bf16())
    // Chunks of whole 4-row blocks (split_rows would give 1-3 rows of a wide weight).
    return split(n, std::max<int64_t>(4, (int64_t(1) << 14) / std::max<int64_t>(k, 1) / 4 * 4),
                 [&](int64_t first, int64_t last) { bf16_dot_rows_avx512(x, m, w, k, first, last, y, n); });
#endif
  throw std::logic_error("bf16_dot_rows needs AVX512-BF16 (check using_avx512_bf16())");
}

void f32_rows(const float* x, int64_t m, const float* w, int64_t k, int64_t n, float* y) {
  unscaled_rows(x, m, w, k, n, y);
}

void int8_rows(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx2()) {
    // Activations as int16 with one scale per row (absmax → 32767): a relative error of 1/65534,
    // far below the int8 weights' 1/254.
    std::vector<int16_t> xq(static_cast<size_t>(m * k));
    std::vector<float> x_scale(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
      float absmax = 0;
      for (int64_t p = 0; p < k; ++p) absmax = std::max(absmax, std::fabs(x[i * k + p]));
      x_scale[i] = absmax > 0 ? absmax / 32767.0f : 1.0f;
      const float inv = 1.0f / x_scale[i];
      for (int64_t p = 0; p < k; ++p) xq[i * k + p] = int16_t(std::lrintf(x[i * k + p] * inv));
    }
    return split_rows(n, k, [&](int64_t first, int64_t last) {
      rows_avx2(xq.data(), x_scale.data(), m, w, scale, k, first, last, y, n);
    });
  }
#endif
  rows_portable_split(x, m, w, scale, k, n, y);
}

void int8_to_bf16(const int8_t* w, const float* scale, int64_t rows, int64_t k, uint16_t* out) {
  split_rows(rows, k, [&](int64_t first, int64_t last) {
#ifdef MEDVQA_X86
    if (using_avx2()) return int8_rows_to_bf16_avx2(w, scale, k, first, last, out);
#endif
    for (int64_t j = first; j < last; ++j)
      for (int64_t p = 0; p < k; ++p) out[j * k + p] = float_to_bf16(float(w[j * k + p]) * scale[j]);
  });
}

void bf16_rows_portable(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y) {
  rows_portable_split(x, m, w, nullptr, k, n, y);
}

void int8_rows_portable(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n,
                        float* y) {
  rows_portable_split(x, m, w, scale, k, n, y);
}

}  // namespace medvqa::kernels
