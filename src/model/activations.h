#pragma once
#include <torch/torch.h>

namespace medvqa::model {

// The two GELUs the reference models use: BLOOM's tanh form and the exact erf form (timm ViT,
// Q-Former). BLOOM writes its tanh form out with the constant 0.79788456 (√(2/π) to 8 digits);
// libtorch's fused tanh GELU equals it within 2.4e-7 and runs 7x faster in fp32 (0.67 vs 4.8 ms
// for 128 x 4096). bf16 CPU inference goes through a one-pass kernel (bf16_kernels.h: 0.20 ms vs
// 1.16 for widening, fp32 GELU and narrowing); bf16 with gradients takes the fp32 route.
torch::Tensor bloom_gelu(const torch::Tensor& x);
torch::Tensor gelu_erf(const torch::Tensor& x);

}  // namespace medvqa::model
