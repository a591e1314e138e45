#pragma once
// What the CPU kernel files share (they do not include libtorch, and are built with OpenMP):
// bf16 as the high half of an fp32 bit pattern (widening is a shift, narrowing rounds to nearest
// even as torch's conversion does), AVX2 loads, stores and sums, and splitting work over threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/fp16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MEDVQA_X86 1  // the AVX2 kernels can be compiled (whether they run is using_avx2())

// Compiles the functions between MEDVQA_TARGET_PUSH("avx2,fma") and MEDVQA_TARGET_POP for those
// instruction sets (the rest of the file stays portable). GCC's target pragma; clang ignores it
// and takes its own attribute push instead, which also reaches lambdas and templates.
#define MEDVQA_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
#define MEDVQA_TARGET_PUSH(features) \
  MEDVQA_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define MEDVQA_TARGET_POP _Pragma("clang attribute pop")
#else
#define MEDVQA_TARGET_PUSH(features) _Pragma("GCC push_options") MEDVQA_PRAGMA(GCC target(features))
#define MEDVQA_TARGET_POP _Pragma("GCC pop_options")
#endif
#endif

namespace medvqa::kernels {

inline float bf16_to_float(uint16_t bf16) {
  uint32_t bits = uint32_t(bf16) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if (std::isnan(f)) return uint16_t((bits >> 16) | 0x40);  // stays a NaN
  return uint16_t((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

#ifdef MEDVQA_X86
// Eight bf16 values at `p` as fp32: zero-extended to 32 bits and shifted into the high half.
__attribute__((target("avx2"))) inline __m256 load_bf16x8(const uint16_t* p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// The sum of the eight lanes.
__attribute__((target("avx2"))) inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight fp32 values to bf16, rounded to nearest even (finite inputs), stored at `out`.
__attribute__((target("avx2"))) inline void store_bf16x8(uint16_t* out, __m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF))), 16);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   _mm_packus_epi32(_mm256_castsi256_si128(rounded), _mm256_extracti128_si256(rounded, 1)));
}
#endif

// fn(first, last) over [0, n) in chunks of `chunk`, split over the OpenMP threads (libtorch's
// intra-op pool).
template <typename Fn>
void split(int64_t n, int64_t chunk, const Fn& fn) {
  const int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
}

}  // namespace medvqa::kernels
