#pragma once
// bf16 as the high half of an fp32 bit pattern: widening is a shift, narrowing rounds to nearest
// even (as torch's conversion does). For the kernel files, which do not include libtorch.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace medvqa::model::kernels {

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

#if defined(__x86_64__) && defined(__GNUC__)
// Eight bf16 values at `p` as fp32: zero-extended to 32 bits and shifted into the high half.
__attribute__((target("avx2"))) inline __m256 load_bf16x8(const uint16_t* p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
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

}  // namespace medvqa::model::kernels
