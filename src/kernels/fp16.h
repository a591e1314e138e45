#pragma once
// IEEE fp16 conversions without libtorch and without OpenMP (tests include this alone).
#include <cmath>
#include <cstdint>
#include <cstring>

namespace medvqa::kernels {

// IEEE fp16 (the 4-bit weights' group scales): narrowing rounds to nearest even, values beyond
// fp16's range become infinities, small ones subnormals.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  if (exponent == 0) {
    const float f = std::ldexp(float(mantissa), -24);
    return sign ? -f : f;
  }
  const uint32_t bits = sign | (exponent == 31 ? 0x7F800000 | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13));
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint16_t float_to_half(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude > 0x7F800000) return sign | 0x7E00;             // NaN
  if (magnitude >= 0x477FF000) return sign | 0x7C00;            // rounds beyond 65504: infinity
  if (magnitude < 0x38800000) {                                 // below 2^-14: a subnormal (or zero)
    float a;
    std::memcpy(&a, &magnitude, sizeof a);
    return sign | uint16_t(std::nearbyint(a * 16777216.0f));  // units of 2^-24, to nearest even
  }
  magnitude += 0xC8000FFF + ((magnitude >> 13) & 1);  // exponent rebiased by -112, rounded to nearest even
  return sign | uint16_t(magnitude >> 13);
}

}  // namespace medvqa::kernels
