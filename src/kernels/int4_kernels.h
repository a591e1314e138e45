#pragma once
// 4-bit weights for CPU decoding, llama.cpp's Q4_0 quantization in a layout for 512-bit loads:
// each weight row is cut into groups of 32 along the input, each group one fp16 scale d and 32
// values q in [-8, 7], W[j, p] = d · q (Q4_0's rule). Groups go in pairs of 32 bytes: byte b of
// pair p holds q[64p + b] + 8 in its low nibble and q[64p + 32 + b] + 8 in its high one, so one
// mask yields group 2p and a shift and the mask group 2p + 1 (Q4_0 pairs nibbles inside a group,
// which costs the AVX512 kernel a lane shuffle per 64 weights). A row with an odd number of groups
// ends in a pair whose second group is zero with scale 0. With its scale a group takes 18 bytes for
// 32 weights, 0.5625 bytes a weight (int8 with row scales: 1).
#include <cstdint>

#include "kernels/cpu_features.h"

namespace medvqa::kernels {

constexpr int64_t kInt4Group = 32;
// Pairs of groups in a row of k inputs (k a multiple of kInt4Group), and the bytes and scales of
// n such rows.
inline int64_t int4_pairs(int64_t k) { return (k + 2 * kInt4Group - 1) / (2 * kInt4Group); }
inline int64_t int4_bytes(int64_t n, int64_t k) { return n * int4_pairs(k) * kInt4Group; }
inline int64_t int4_scales(int64_t n, int64_t k) { return n * int4_pairs(k) * 2; }

// Quantizes fp32 rows w [n, k] group by group: d is the value of largest magnitude over -8 (so
// that it maps to -8 exactly and the other side keeps 7 steps), rounded to fp16, and
// q = round(w / d) to nearest even, clamped to [-8, 7]. A group of zeros gets d = 0.
void quantize_int4(const float* w, int64_t n, int64_t k, uint8_t* q, uint16_t* scale);

// out[j·k + p] = W[j, p] as fp32 for rows j < n.
void int4_to_float(const uint8_t* q, const uint16_t* scale, int64_t n, int64_t k, float* out);

// y[i·n + j] = Σ_p x[i·k + p] · W[j, p] for rows i < m and output rows j < n. The fast paths
// round each group of 32 activations to int8 with its own scale (absmax/127, as llama.cpp's Q8_0
// does) and multiply bytes: AVX512-VNNI where the CPU has it, else AVX2. Output rows are split
// over the OpenMP threads.
void int4_rows(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n, float* y);

// The same in fp32 from the dequantized weights, and by the AVX2 kernel even on a CPU with
// AVX512-VNNI (the portable loop on one without AVX2): what tests compare int4_rows with.
void int4_rows_portable(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n,
                        float* y);
void int4_rows_avx2(const float* x, int64_t m, const uint8_t* q, const uint16_t* scale, int64_t k, int64_t n, float* y);

}  // namespace medvqa::kernels
