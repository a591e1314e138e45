#include "kernels/bf16_gemm.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/cpu_features.h"
#include "kernels/kernel_support.h"

namespace medvqa::kernels {
namespace {

int64_t pairs(int64_t k) { return (k + 1) / 2; }
int64_t panels(int64_t n) { return (n + kPanelRows - 1) / kPanelRows; }
int64_t panel_size(int64_t k) { return pairs(k) * kPanelRows * 2; }  // bf16 values in one panel

// Index of W[j, p] in the panels.
int64_t panel_index(int64_t j, int64_t p, int64_t kp) {
  return ((j / kPanelRows * kp + p / 2) * kPanelRows + j % kPanelRows) * 2 + p % 2;
}

#ifdef MEDVQA_X86
MEDVQA_TARGET_PUSH("avx512f,avx512bw,avx512vl,avx512bf16")

// 16 bf16 values as fp32.
__m512 widen_bf16x16(__m256i bits) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16)); }

// MR input rows times one panel: 2·MR fp32 accumulators of 16 columns. Each step loads one pair of
// input features per row (broadcast to all lanes) and the panel's 32 × 2 weights of that pair.
// One or two rows (decoding) keep a second set of sums for every other pair: with only two or
// four sums, each waiting for the previous product, the kernel could not keep up with memory.
template <int MR>
void panel_block(const uint16_t* x, int64_t k, const uint16_t* panel, const uint16_t* bias, uint16_t* y, int64_t ldy,
                 __mmask32 columns) {
  constexpr int kSets = MR <= 2 ? 2 : 1;
  __m512 acc[MR][2], more[MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = more[i][0] = more[i][1] = _mm512_setzero_ps();
  const int64_t whole_pairs = k / 2;
  auto step = [&](int64_t p, __m512 (&sums)[MR][2]) __attribute__((always_inline)) {
    const __m512i w0 = _mm512_loadu_si512(panel + p * 64), w1 = _mm512_loadu_si512(panel + p * 64 + 32);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t pair;
      std::memcpy(&pair, x + i * k + 2 * p, sizeof pair);
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
      sums[i][0] = _mm512_dpbf16_ps(sums[i][0], xv, (__m512bh)w0);
      sums[i][1] = _mm512_dpbf16_ps(sums[i][1], xv, (__m512bh)w1);
    }
  };
  int64_t p = 0;
  if (kSets == 2)
    for (; p + 2 <= whole_pairs; p += 2) {
      step(p, acc);
      step(p + 1, more);
    }
  for (; p < whole_pairs; ++p) step(p, acc);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    acc[i][0] = _mm512_add_ps(acc[i][0], more[i][0]);
    acc[i][1] = _mm512_add_ps(acc[i][1], more[i][1]);
  }
  if (k % 2) {  // the last feature alone: its pair's second weight is the panel's zero padding
    const __m512i w0 = _mm512_loadu_si512(panel + whole_pairs * 64), w1 = _mm512_loadu_si512(panel + whole_pairs * 64 + 32);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(int32_t(x[i * k + k - 1]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], xv, (__m512bh)w0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], xv, (__m512bh)w1);
    }
  }
  __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
  if (bias) {
    const __m512i bits = _mm512_maskz_loadu_epi16(columns, bias);
    b0 = widen_bf16x16(_mm512_castsi512_si256(bits));
    b1 = widen_bf16x16(_mm512_extracti64x4_epi64(bits, 1));
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_add_ps(acc[i][0], b0));
    const __m256i hi = (__m256i)_mm512_cvtneps_pbh(_mm512_add_ps(acc[i][1], b1));
    _mm512_mask_storeu_epi16(y + i * ldy, columns, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
  }
}

// Blocks of 8 rows: 16 accumulators, enough independent sums to keep vdpbf16ps busy, and 2 loads
// per 16 of them. Measured against 12 rows (24 accumulators): 1-5% faster on every shape.
constexpr int kBlockRows = 8;

void panel_rows(const uint16_t* x, int64_t rows, int64_t k, const uint16_t* panel, const uint16_t* bias, uint16_t* y,
                int64_t ldy, __mmask32 columns) {
  int64_t i = 0;
  for (; i + kBlockRows <= rows; i += kBlockRows) panel_block<kBlockRows>(x + i * k, k, panel, bias, y + i * ldy, ldy, columns);
  x += i * k;
  y += i * ldy;
  switch (rows - i) {
    case 7: return panel_block<7>(x, k, panel, bias, y, ldy, columns);
    case 6: return panel_block<6>(x, k, panel, bias, y, ldy, columns);
    case 5: return panel_block<5>(x, k, panel, bias, y, ldy, columns);
    case 4: return panel_block<4>(x, k, panel, bias, y, ldy, columns);
    case 3: return panel_block<3>(x, k, panel, bias, y, ldy, columns);
    case 2: return panel_block<2>(x, k, panel, bias, y, ldy, columns);
    case 1: return panel_block<1>(x, k, panel, bias, y, ldy, columns);
    default: return;
  }
}

// r[c] (16 dwords each) → r[u] holding dword u of every r[c]: a 16 x 16 transpose in four steps,
// within 128-bit lanes (two unpacks), then across them (two lane shuffles).
void transpose16x16(__m512i r[16]) {
  __m512i t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // r[4i + e], lane L: rows 4i..4i+3 at column 4L + e.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    t[e] = _mm512_shuffle_i32x4(r[e], r[4 + e], 0x88);  // lanes 0 and 2 of each
    t[4 + e] = _mm512_shuffle_i32x4(r[e], r[4 + e], 0xDD);  // lanes 1 and 3
    t[8 + e] = _mm512_shuffle_i32x4(r[8 + e], r[12 + e], 0x88);
    t[12 + e] = _mm512_shuffle_i32x4(r[8 + e], r[12 + e], 0xDD);
  }
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm512_shuffle_i32x4(t[e], t[8 + e], 0x88);
    r[8 + e] = _mm512_shuffle_i32x4(t[e], t[8 + e], 0xDD);
    r[4 + e] = _mm512_shuffle_i32x4(t[4 + e], t[12 + e], 0x88);
    r[12 + e] = _mm512_shuffle_i32x4(t[4 + e], t[12 + e], 0xDD);
  }
}

// One panel from rows 0 .. rows of a weight (the rest of the panel's 32 zero). For 16 rows and 16
// pairs at a time, pairs(row, p0, mask) gives a row's 16 bf16 pairs from pair p0 (its 32 values,
// `mask` covering those within the row); transposed, each pair's 16 rows are one 64-byte store.
// (Scattering each row's pairs into place instead made the whole int8 product at 32 rows 217-223
// GFLOP/s against 314-325.)
template <typename Pairs>
void write_panel(int64_t rows, int64_t k, uint16_t* panel, const Pairs& pairs_of_row) {
  const int64_t kp = pairs(k);
  for (int64_t p0 = 0; p0 < kp; p0 += 16) {
    const int64_t values = std::min<int64_t>(32, k - 2 * p0), lines = std::min<int64_t>(16, kp - p0);
    const __mmask32 mask = values == 32 ? ~__mmask32(0) : (__mmask32(1) << values) - 1;
    for (int64_t half = 0; half < kPanelRows; half += 16) {
      __m512i r[16];
#pragma GCC unroll 16
      for (int64_t c = 0; c < 16; ++c)
        r[c] = half + c < rows ? pairs_of_row(half + c, p0, mask) : _mm512_setzero_si512();
      transpose16x16(r);
      for (int64_t u = 0; u < lines; ++u) _mm512_storeu_si512(panel + ((p0 + u) * kPanelRows + half) * 2, r[u]);
    }
  }
}

// Every panel of an [n, k] weight, split over the OpenMP threads.
template <typename Pairs>
void write_panels(int64_t n, int64_t k, uint16_t* out, const Pairs& pairs_of_row) {
  const int64_t np = panels(n);
#pragma omp parallel for schedule(static) if (np > 1)
  for (int64_t jp = 0; jp < np; ++jp)
    write_panel(std::min(kPanelRows, n - jp * kPanelRows), k, out + jp * panel_size(k),
                [&](int64_t row, int64_t p0, __mmask32 mask) { return pairs_of_row(jp * kPanelRows + row, p0, mask); });
}

void pack_bf16_panels_avx512(const uint16_t* w, int64_t n, int64_t k, uint16_t* out) {
  write_panels(n, k, out, [&](int64_t j, int64_t p0, __mmask32 mask) {
    return _mm512_maskz_loadu_epi16(mask, w + j * k + 2 * p0);
  });
}

// int8 values times the row's scale in fp32, rounded to bf16 pairs.
void pack_int8_panels_avx512(const int8_t* w, const float* scale, int64_t n, int64_t k, uint16_t* out) {
  write_panels(n, k, out, [&](int64_t j, int64_t p0, __mmask32 mask) {
    const __m512 s = _mm512_set1_ps(scale[j]);
    const __m256i q = _mm256_maskz_loadu_epi8(mask, w + j * k + 2 * p0);
    const __m512 lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))), s);
    const __m512 hi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))), s);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
  });
}

// Work items: one panel times up to 64 input rows (with 768 features, 96 KiB of inputs, in L2),
// panel-major so that each thread keeps to a few panels.
constexpr int64_t kChunkRows = 64;

MEDVQA_TARGET_POP
#endif

// The panels of an [n, k] weight, value by value: value(j, p) is W[j, p].
template <typename Value>
void write_panels_portable(int64_t n, int64_t k, uint16_t* out, const Value& value) {
  const int64_t kp = pairs(k);
  std::fill(out, out + panels(n) * panel_size(k), uint16_t(0));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) out[panel_index(j, p, kp)] = value(j, p);
}

}  // namespace

int64_t bf16_panels_size(int64_t n, int64_t k) { return panels(n) * panel_size(k); }

void pack_bf16_panels(const uint16_t* w, int64_t n, int64_t k, uint16_t* out) {
#ifdef MEDVQA_X86
  if (using_avx512_bf16()) return pack_bf16_panels_avx512(w, n, k, out);
#endif
  write_panels_portable(n, k, out, [&](int64_t j, int64_t p) { return w[j * k + p]; });
}

void pack_int8_panels(const int8_t* w, const float* scale, int64_t n, int64_t k, uint16_t* out) {
#ifdef MEDVQA_X86
  if (using_avx512_bf16()) return pack_int8_panels_avx512(w, scale, n, k, out);
#endif
  write_panels_portable(n, k, out, [&](int64_t j, int64_t p) { return float_to_bf16(float(w[j * k + p]) * scale[j]); });
}

void unpack_bf16_panels(const uint16_t* panels_in, int64_t k, int64_t first, int64_t count, uint16_t* w) {
  const int64_t kp = pairs(k);
  for (int64_t j = 0; j < count; ++j)
    for (int64_t p = 0; p < k; ++p) w[j * k + p] = panels_in[panel_index(first + j, p, kp)];
}

void bf16_panel_gemm(const uint16_t* x, int64_t m, int64_t k, const uint16_t* panel_data, int64_t n,
                     const uint16_t* bias, uint16_t* y, int64_t ldy) {
#ifdef MEDVQA_X86
  if (using_avx512_bf16()) {
    const int64_t np = panels(n), chunks = (m + kChunkRows - 1) / kChunkRows, items = np * chunks;
#pragma omp parallel for schedule(static) if (items > 1)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t jp = item / chunks, first = item % chunks * kChunkRows;
      const int64_t j0 = jp * kPanelRows, width = std::min(kPanelRows, n - j0);
      const __mmask32 columns = width == kPanelRows ? ~__mmask32(0) : (__mmask32(1) << width) - 1;
      panel_rows(x + first * k, std::min(kChunkRows, m - first), k, panel_data + jp * panel_size(k),
                 bias ? bias + j0 : nullptr, y + first * ldy + j0, ldy, columns);
    }
    return;
  }
#endif
  throw std::logic_error("bf16_panel_gemm needs AVX512-BF16 (check using_avx512_bf16())");
}

}  // namespace medvqa::kernels
