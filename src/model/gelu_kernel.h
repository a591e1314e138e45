#pragma once
// BLOOM's tanh GELU on bf16 activations in one pass (read bf16, compute in fp32, round back),
// split over the OpenMP threads. libtorch 1.13 takes three passes for it on bf16 CPU tensors
// (widen, GELU, narrow; its own bf16 GELU is slower still).
#include <cstdint>

namespace medvqa::model::kernels {

// y[i] = gelu_tanh(x[i]) for bf16 bit patterns, rounded to nearest even. x and y may alias.
void bloom_gelu_bf16(const uint16_t* x, uint16_t* y, int64_t n);
// The same with portable loops (what CPUs without AVX2+FMA run; tests compare the two).
void bloom_gelu_bf16_portable(const uint16_t* x, uint16_t* y, int64_t n);

}  // namespace medvqa::model::kernels
