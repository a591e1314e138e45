#include "kernels/int4_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel_support.h"

namespace medvqa::kernels {
namespace {

constexpr int64_t kPair = 2 * kInt4Group;  // weights in a pair of groups: 32 bytes

// Output rows in chunks that each stream ~32 KiB of weights, split over the threads.
template <typename Fn>
void split_int4_rows(int64_t n, int64_t k, const Fn& fn) {
  split(n, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, int4_pairs(k) * kInt4Group)), fn);
}

// Row j's first k values as fp32 into out[0..k).
void dequantize_row(const uint8_t* row, const uint16_t* row_scales, int64_t k, float* out) {
  for (int64_t p = 0; p < int4_pairs(k); ++p) {
    const uint8_t* pair = row + p * kInt4Group;
    const float low = half_to_float(row_scales[2 * p]), high = half_to_float(row_scales[2 * p + 1]);
    float* dst = out + p * kPair;
    const bool both = (p + 1) * kPair <= k;
    for (int64_t b = 0; b < kInt4Group; ++b) {
      dst[b] = low * float((pair[b] & 0x0F) - 8);
      if (both) dst[b + kInt4Group] = high * float((pair[b] >> 4) - 8);
    }
  }
}

// Activations rounded per group of 32 to int8 with a scale each (absmax/127, as Q8_0), each row
// padded with zeros to whole pairs of groups and its scales to a multiple of 16 groups (the VNNI
// kernel loads 16 at once).
struct QuantizedRows {
  int64_t pairs, padded, scale_stride;
  std::vector<int8_t> values;  // [m, padded]
  std::vector<float> scales;   // [m, scale_stride]
};

QuantizedRows quantize_activations(const float* x, int64_t m, int64_t k) {
  QuantizedRows r;
  r.pairs = int4_pairs(k);
  r.padded = r.pairs * kPair;
  r.scale_stride = (2 * r.pairs + 15) / 16 * 16;
  r.values.assign(size_t(m * r.padded), 0);
  r.scales.assign(size_t(m * r.scale_stride), 0.0f);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t g = 0; g < k / kInt4Group; ++g) {
      const float* src = x + i * k + g * kInt4Group;
      float absmax = 0;
      for (int64_t p = 0; p < kInt4Group; ++p) absmax = std::max(absmax, std::fabs(src[p]));
      const float d = absmax / 127.0f;
      r.scales[size_t(i * r.scale_stride + g)] = d;
      int8_t* dst = r.values.data() + i * r.padded + g * kInt4Group;
      if (d > 0)
        for (int64_t p = 0; p < kInt4Group; ++p) dst[p] = int8_t(std::lrintf(src[p] / d));
    }
  return r;
}

#ifdef MEDVQA_X86
MEDVQA_TARGET_PUSH("avx2,fma,f16c")

// One group of signed values q (as bytes) against M activation rows from row i0: |q| times x with
// q's sign (vpmaddubsw multiplies unsigned by signed bytes), pairs summed to int32, scaled by the
// weight group's and the activation group's scales.
template <int M>
inline void group_avx2(const QuantizedRows& x, int64_t i0, int64_t g, __m256i w, float d, __m256 (&acc)[M]) {
  const __m256i magnitude = _mm256_sign_epi8(w, w);
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    const int64_t r = i0 + i;
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.values.data() + r * x.padded + g * kInt4Group));
    const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xv, w)), _mm256_set1_epi16(1));
    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(d * x.scales[size_t(r * x.scale_stride + g)]), acc[i]);
  }
}

// Each pair's two groups into two accumulators per row: the FMA's latency is not the bound.
template <int M>
void dot_rows_avx2(const QuantizedRows& x, int64_t i0, const uint8_t* row, const uint16_t* row_scales, float* out) {
  __m256 even[M], odd[M];
  for (int i = 0; i < M; ++i) even[i] = odd[i] = _mm256_setzero_ps();
  const __m256i mask = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  for (int64_t p = 0; p < x.pairs; ++p) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + p * kInt4Group));
    group_avx2<M>(x, i0, 2 * p, _mm256_sub_epi8(_mm256_and_si256(b, mask), eight), _cvtsh_ss(row_scales[2 * p]), even);
    group_avx2<M>(x, i0, 2 * p + 1, _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(b, 4), mask), eight),
                  _cvtsh_ss(row_scales[2 * p + 1]), odd);
  }
  for (int i = 0; i < M; ++i) out[i] = sum8(_mm256_add_ps(even[i], odd[i]));
}

void dot_block_avx2(const QuantizedRows& x, int64_t i0, int64_t rows, const uint8_t* row, const uint16_t* row_scales,
                    float* out) {
  switch (rows) {
    case 1: return dot_rows_avx2<1>(x, i0, row, row_scales, out);
    case 2: return dot_rows_avx2<2>(x, i0, row, row_scales, out);
    case 3: return dot_rows_avx2<3>(x, i0, row, row_scales, out);
    default: return dot_rows_avx2<4>(x, i0, row, row_scales, out);
  }
}

MEDVQA_TARGET_POP

MEDVQA_TARGET_PUSH("avx512f,avx512bw,avx512vl,avx512vnni,f16c")

// −8 · Σx over each 4 activations of every pair, 16 int32 lanes a pair: the start of vpdpbusd's
// sum, so that it can multiply the unsigned nibbles (q + 8) and still yield Σ q · x.
std::vector<int32_t> minus_eight_sums(const QuantizedRows& x, int64_t m) {
  std::vector<int32_t> sums(size_t(m * x.pairs * 16));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < x.pairs; ++p) {
      const __m512i xv = _mm512_loadu_si512(x.values.data() + i * x.padded + p * kPair);
      _mm512_storeu_si512(sums.data() + (i * x.pairs + p) * 16,
                          _mm512_sub_epi32(_mm512_setzero_si512(),
                                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), xv)));
    }
  return sums;
}

// Pairs [p0, p0 + count) of one weight row, count ≤ 8, against M activation rows from row i0. The
// products d · dx of the 16 groups are formed once; each pair's 16 lanes (8 of its first group,
// 8 of its second) take theirs by one permute.
template <int M>
inline void pairs_vnni(const QuantizedRows& x, const int32_t* corrections, int64_t i0, int64_t p0, int64_t count,
                       const uint8_t* row, const uint16_t* row_scales, __m512 (&acc)[M]) {
  const __mmask16 groups = __mmask16((1u << (2 * count)) - 1);
  const __m512 d = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(groups, row_scales + 2 * p0));
  __m512 scale[M];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i)
    scale[i] = _mm512_mul_ps(d, _mm512_loadu_ps(x.scales.data() + (i0 + i) * x.scale_stride + 2 * p0));
  const __m512i mask = _mm512_set1_epi8(0x0F);
  __m512i lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  for (int64_t p = p0; p < p0 + count; ++p) {
    // The 32 bytes twice; the upper copy shifted: low nibbles (group 2p), then high (2p + 1).
    __m512i w = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + p * kInt4Group)));
    w = _mm512_and_si512(_mm512_mask_srli_epi16(w, __mmask32(0xFFFF0000u), w, 4), mask);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      const int64_t r = i0 + i;
      const __m512i xv = _mm512_loadu_si512(x.values.data() + r * x.padded + p * kPair);
      const __m512i sums = _mm512_dpbusd_epi32(_mm512_loadu_si512(corrections + (r * x.pairs + p) * 16), w, xv);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_permutexvar_ps(lanes, scale[i]), acc[i]);
    }
    lanes = _mm512_add_epi32(lanes, _mm512_set1_epi32(2));
  }
}

template <int M>
void dot_rows_vnni(const QuantizedRows& x, const int32_t* corrections, int64_t i0, const uint8_t* row,
                   const uint16_t* row_scales, float* out) {
  __m512 acc[M];
  for (int i = 0; i < M; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t p0 = 0; p0 < x.pairs; p0 += 8)
    pairs_vnni<M>(x, corrections, i0, p0, std::min<int64_t>(8, x.pairs - p0), row, row_scales, acc);
  for (int i = 0; i < M; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}

void dot_block_vnni(const QuantizedRows& x, const int32_t* corrections, int64_t i0, int64_t rows, const uint8_t* row,
                    const uint16_t* row_scales, float* out) {
  switch (rows) {
    case 1: return dot_rows_vnni<1>(x, corrections, i0, row, row_scales, out);
    case 2: return dot_rows_vnni<2>(x, corrections, i0, row, row_scales, out);
    case 3: return dot_rows_vnni<3>(x, corrections, i0, row, row_scales, out);
    default: return dot_rows_vnni<4>(x, corrections, i0, row, row_scales, out);
  }
}

MEDVQA_TARGET_POP
#endif

// Output rows [first, last) for every input row, in blocks of up to four input rows (the weight
// row stays in L1 between blocks): dot(i0, rows, weight row, its scales, out[rows]).
template <typename Dot>
void rows_in_blocks(int64_t m, int64_t k, const uint8_t* q, const uint16_t* scale, int64_t first, int64_t last, float* y,
                    int64_t ldy, const Dot& dot) {
  const int64_t row_bytes = int4_bytes(1, k), row_scales = int4_scales(1, k);
  float out[4];
  for (int64_t j = first; j < last; ++j)
    for (int64_t i = 0; i < m; i += 4) {
      const int64_t rows = std::min<int64_t>(4, m - i);
      dot(i, rows, q + j * row_bytes, scale + j * row_scales, out);
      for (int64_t r = 0; r < rows; ++r) y[(i + r) * ldy + j] = out[r];
    }
}

}  // namespace

void quantize_int4(const float* w, int64_t n, int64_t k, uint8_t* q, uint16_t* scale) {
  const int64_t groups = k / kInt4Group, row_bytes = int4_bytes(1, k), row_scales = int4_scales(1, k);
  split_int4_rows(n, k, [&](int64_t first, int64_t last) {
    for (int64_t j = first; j < last; ++j) {
      std::fill(q + j * row_bytes, q + (j + 1) * row_bytes, uint8_t(0x88));  // an odd row's padding group: q = 0
      std::fill(scale + j * row_scales, scale + (j + 1) * row_scales, uint16_t(0));
      for (int64_t g = 0; g < groups; ++g) {
        const float* src = w + j * k + g * kInt4Group;
        float extreme = 0;
        for (int64_t p = 0; p < kInt4Group; ++p)
          if (std::fabs(src[p]) > std::fabs(extreme)) extreme = src[p];
        const uint16_t h = float_to_half(extreme / -8.0f);
        const float d = half_to_float(h);
        scale[j * row_scales + g] = h;
        uint8_t* pair = q + j * row_bytes + (g / 2) * kInt4Group;
        const int shift = g % 2 ? 4 : 0;
        for (int64_t b = 0; b < kInt4Group; ++b) {
          const float level = d != 0 ? std::clamp(std::nearbyint(src[b] / d), -8.0f, 7.0f) : 0.0f;
          pair[b] = uint8_t((pair[b] & (0xF0 >> shift)) | (uint8_t(level + 8) << shift));
        }
      }
    }
  });
}

void int4_to_float(const uint8_t* q, const uint16_t* scale, int64_t n, int64_t k, float* out) {
  const int64_t row_bytes = int4_bytes(1, k), row_scales = int4_scales(1, k);
  split_int4_rows(n, k, [&](int64_t first, int64_t last) {
    for (int64_t j = first; j < last; ++j) dequantize_row(q + j * row_bytes, scale + j * row_scales, k, out + j * k);
  });
}

void int4_rows_portable(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n,
                        float* y) {
  const int64_t row_bytes = int4_bytes(1, k), row_scales = int4_scales(1, k);
  split_int4_rows(n, k, [&](int64_t first, int64_t last) {
    std::vector<float> row(static_cast<size_t>(int4_pairs(k) * kPair));
    for (int64_t j = first; j < last; ++j) {
      dequantize_row(q + j * row_bytes, scale + j * row_scales, k, row.data());
      for (int64_t i = 0; i < m; ++i) {
        float s = 0;
        for (int64_t p = 0; p < k; ++p) s += x[i * k + p] * row[size_t(p)];
        y[i * n + j] = s;
      }
    }
  });
}

void int4_rows_avx2(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx2()) {
    const QuantizedRows xq = quantize_activations(x, m, k);
    return split_int4_rows(n, k, [&](int64_t first, int64_t last) {
      rows_in_blocks(m, k, q, scale, first, last, y, n,
                     [&](int64_t i0, int64_t rows, const uint8_t* row, const uint16_t* rs, float* out) {
                       dot_block_avx2(xq, i0, rows, row, rs, out);
                     });
    });
  }
#endif
  int4_rows_portable(x, m, q, scale, k, n, y);
}

void int4_rows(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n, float* y) {
#ifdef MEDVQA_X86
  if (using_avx512_vnni() && using_avx2()) {
    const QuantizedRows xq = quantize_activations(x, m, k);
    const std::vector<int32_t> corrections = minus_eight_sums(xq, m);
    return split_int4_rows(n, k, [&](int64_t first, int64_t last) {
      rows_in_blocks(m, k, q, scale, first, last, y, n,
                     [&](int64_t i0, int64_t rows, const uint8_t* row, const uint16_t* rs, float* out) {
                       dot_block_vnni(xq, corrections.data(), i0, rows, row, rs, out);
                     });
    });
  }
#endif
  int4_rows_avx2(x, m, q, scale, k, n, y);
}

}  // namespace medvqa::kernels
