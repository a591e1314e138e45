#include "model/packed_kernels.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MEDVQA_X86 1
#endif

namespace medvqa::model::kernels {
namespace {

inline float widen(uint16_t bf16) {
  uint32_t bits = uint32_t(bf16) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float widen(int8_t q) { return float(q); }

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
#pragma GCC push_options
#pragma GCC target("avx2,fma")

inline __m256 load8(const uint16_t* p) {
  // bf16 is the high half of an fp32: zero-extend to 32 bits and shift into place.
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}
inline __m256 load8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)p)));
}

inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Dot products of one weight row with M input rows, U·8 weights per step: U·M independent
// accumulators hide the FMA latency (8 of them), and the loops over them are unrolled so that
// they live in registers.
template <typename T, int M, int U = (M == 1 ? 8 : M == 2 ? 4 : 2)>
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

template <typename T>
void rows_avx2(const float* x, int64_t m, const T* w, const float* scale, int64_t k, int64_t first, int64_t last,
               float* y, int64_t ldy) {
  float out[4];
  for (int64_t j = first; j < last; ++j) {
    const T* row = w + j * k;
    // Groups of four input rows: the weight row stays in L1 between groups.
    for (int64_t i = 0; i < m; i += 4) {
      const int64_t n = std::min<int64_t>(4, m - i);
      const float* xi = x + i * k;
      switch (n) {
        case 1: dot_rows<T, 1>(xi, k, row, out); break;
        case 2: dot_rows<T, 2>(xi, k, row, out); break;
        case 3: dot_rows<T, 3>(xi, k, row, out); break;
        default: dot_rows<T, 4>(xi, k, row, out); break;
      }
      for (int64_t r = 0; r < n; ++r) y[(i + r) * ldy + j] = scale ? out[r] * scale[j] : out[r];
    }
  }
}

#pragma GCC pop_options
#endif

// The kernel over all output rows, in blocks of rows split over the threads: each block streams
// a few tens of KiB of weights.
template <typename T, typename Kernel>
void split_rows(const float* x, int64_t m, const T* w, const float* scale, int64_t k, int64_t n, float* y,
                Kernel kernel) {
  const int64_t block = std::max<int64_t>(1, (int64_t(1) << 15) / (k * int64_t(sizeof(T))));
  const int64_t blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (int64_t b = 0; b < blocks; ++b)
    kernel(x, m, w, scale, k, b * block, std::min(n, (b + 1) * block), y, n);
}

template <typename T>
void rows(const float* x, int64_t m, const T* w, const float* scale, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx2()) return split_rows(x, m, w, scale, k, n, y, rows_avx2<T>);
#endif
  split_rows(x, m, w, scale, k, n, y, rows_portable<T>);
}

}  // namespace

bool using_avx2() {
#ifdef MEDVQA_X86
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

void bf16_rows(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y) {
  rows(x, m, w, nullptr, k, n, y);
}

void int8_rows(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n, float* y) {
  rows(x, m, w, scale, k, n, y);
}

void bf16_rows_portable(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y) {
  split_rows(x, m, w, nullptr, k, n, y, rows_portable<uint16_t>);
}

void int8_rows_portable(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n,
                        float* y) {
  split_rows(x, m, w, scale, k, n, y, rows_portable<int8_t>);
}

}  // namespace medvqa::model::kernels
