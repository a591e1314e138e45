#pragma once
#include <torch/torch.h>

#include <memory>

#include "model/packed_weight.h"

namespace medvqa::model {

// nn.Linear, plus the optional low-rank branch of PEFT's LoRA layer:
//   y = x Wᵀ + b + scaling · B(A(dropout(x)))
// The branch is registered as submodules `lora_A` / `lora_B`, so parameter names are the keys
// PEFT writes (`…query_key_value.lora_A.weight`) under the `base_model.model.` prefix.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);

  torch::Tensor forward(const torch::Tensor& x);

  // Adds a zero-effect LoRA branch (A random as PEFT initialises it, B zero).
  void add_lora(int64_t r, double scaling, double dropout);
  // Folds the branch into W (W += scaling · B A) and removes it, as PEFT's merge_and_unload.
  void merge_lora();
  bool has_lora() const { return !lora_A.is_empty(); }
  // Keeps the branch's parameters but stops using them (PEFT's disable_adapter).
  void set_lora_enabled(bool enabled) { lora_enabled_ = enabled; }
  // Inference only: keeps the weight in `format` (see packed_weight.h) and releases the fp32
  // parameter's memory (it stays registered, empty).
  void pack(WeightFormat format);

  int64_t in_features, out_features;
  torch::Tensor weight, bias;
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};
  std::shared_ptr<const PackedWeight> packed;

 private:
  double lora_scaling_ = 0.0;
  double lora_dropout_ = 0.0;
  bool lora_enabled_ = true;
};
TORCH_MODULE(Linear);

// Packs every Linear in `module` and its submodules (LinearImpl::pack).
void pack_linears(torch::nn::Module& module, WeightFormat format);

// x Wᵀ + b. One row (batch-1 decoding) goes through matrix-vector multiplication: BLAS gemv
// streams the weights faster than gemm does with a single row. 2-24 fp32 rows without gradients
// (a batch's decoding step, Q-Former queries) go through the row kernels (packed_kernels.h).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// The two GELUs the reference models use: BLOOM's tanh form and the exact erf form (timm ViT,
// Q-Former). BLOOM writes its tanh form out with the constant 0.79788456 (√(2/π) to 8 digits);
// libtorch's fused tanh GELU equals it within 2.4e-7 and runs 7x faster in fp32 (0.67 vs 4.8 ms
// for 128 x 4096). bf16 CPU inference goes through a one-pass kernel (bf16_kernels.h: 0.20 ms vs
// 1.16 for widening, fp32 GELU and narrowing); bf16 with gradients takes the fp32 route.
torch::Tensor bloom_gelu(const torch::Tensor& x);
torch::Tensor gelu_erf(const torch::Tensor& x);

// nn.LayerNorm over the last dimension (parameters `weight`, `bias`). bf16 inputs on the CPU
// are normalized in fp32: libtorch 1.13's bf16 kernel there is ~10x slower than converting to
// fp32 and back (0.74 vs 0.06 ms for one 197 x 768 ViT activation); bf16 models at inference go
// through a one-pass kernel (bf16_kernels.h) that also skips those conversions.
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t dim;
  double eps;
  torch::Tensor weight, bias;
};
TORCH_MODULE(LayerNorm);

// The most negative finite value of x's dtype: masked attention scores use it instead of -inf,
// so fully masked rows give a uniform softmax rather than NaN (as transformers does).
double lowest_value(const torch::Tensor& x);

}  // namespace medvqa::model
