#pragma once
// Matrix-vector kernels for weights stored narrower than fp32 (see packed_weight.h): each weight
// is widened to fp32 once and multiplied into every input row, accumulating in fp32. Output rows
// are split over the OpenMP threads (libtorch's intra-op pool, sized by at::set_num_threads).
#include <cstdint>

#include "kernels/cpu_features.h"

namespace medvqa::kernels {

// y[i·n + j] = Σ_p x[i·k + p] · W[j, p]   for rows i < m and output rows j < n,
// with W[j, p] = bf16 bits w[j·k + p] (as fp32).
void bf16_rows(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y);
// The same with fp32 weights W[j, p] = w[j·k + p].
void f32_rows(const float* x, int64_t m, const float* w, int64_t k, int64_t n, float* y);
// The same with W[j, p] = scale[j] · w[j·k + p].
void int8_rows(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n, float* y);

// The same with bf16 activations x, by AVX512-BF16 dot products (pairs of bf16 products summed
// into fp32); only where using_avx512_bf16(). For a few rows this beats a GEMM call, which first
// reorders the whole weight matrix.
void bf16_dot_rows(const uint16_t* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y);

// out[j·k + p] = bf16(scale[j] · w[j·k + p]) for rows j < rows: int8 weights widened for a bf16
// GEMM in one pass.
void int8_to_bf16(const int8_t* w, const float* scale, int64_t rows, int64_t k, uint16_t* out);

// What CPUs without AVX2+FMA run (tests compare them with the kernels above).
void bf16_rows_portable(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y);
void int8_rows_portable(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n,
                        float* y);

}  // namespace medvqa::kernels
