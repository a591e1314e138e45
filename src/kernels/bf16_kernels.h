#pragma once
// Kernels for bf16 activations on the CPU, one pass each (read bf16, compute in fp32, round back
// to nearest even), split over the OpenMP threads. libtorch 1.13 takes three passes for these
// ops on bf16 CPU tensors (widen, the op in fp32, narrow; its own bf16 kernels are slower still).
#include <cstdint>

namespace medvqa::kernels {

// y[i] = gelu_tanh(x[i]) for bf16 bit patterns, rounded to nearest even. x and y may alias.
void bloom_gelu_bf16(const uint16_t* x, uint16_t* y, int64_t n);
// The same with portable loops (what CPUs without AVX2+FMA run; tests compare the two).
void bloom_gelu_bf16_portable(const uint16_t* x, uint16_t* y, int64_t n);

// LayerNorm over rows of `dim` values with bf16 weight and bias: mean and variance in fp32 (two
// passes over the row), y = (x - mean) / sqrt(var + eps) · w + b.
void layer_norm_bf16(const uint16_t* x, const uint16_t* weight, const uint16_t* bias, int64_t rows, int64_t dim,
                     float eps, uint16_t* y);
void layer_norm_bf16_portable(const uint16_t* x, const uint16_t* weight, const uint16_t* bias, int64_t rows,
                              int64_t dim, float eps, uint16_t* y);

}  // namespace medvqa::kernels
