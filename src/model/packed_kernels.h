#pragma once
// Matrix-vector kernels for weights stored narrower than fp32 (see packed_weight.h): each weight
// is widened to fp32 once and multiplied into every input row, accumulating in fp32. Output rows
// are split over the OpenMP threads (libtorch's intra-op pool, sized by at::set_num_threads).
#include <cstdint>

namespace medvqa::model::kernels {

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
bool using_avx512_bf16();

// out[j·k + p] = bf16(scale[j] · w[j·k + p]) for rows j < rows: int8 weights widened for a bf16
// GEMM in one pass.
void int8_to_bf16(const int8_t* w, const float* scale, int64_t rows, int64_t k, uint16_t* out);

// Whether libtorch's bf16 matmul is fast here: it goes to oneDNN on CPUs with AVX512 BW/VL/DQ
// (libtorch 1.13's rule); elsewhere its fallback runs at a few GFLOP/s.
bool fast_bf16_gemm();

// Whether the AVX2+FMA versions run on this CPU (else these portable loops do).
bool using_avx2();
void bf16_rows_portable(const float* x, int64_t m, const uint16_t* w, int64_t k, int64_t n, float* y);
void int8_rows_portable(const float* x, int64_t m, const int8_t* w, const float* scale, int64_t k, int64_t n,
                        float* y);

}  // namespace medvqa::model::kernels
