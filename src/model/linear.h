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

  // Adds a zero-effect LoRA branch (A random as PEFT initialises it, B zero). The branch's math
  // is in lora.cpp.
  void add_lora(int64_t r, double scaling, double dropout);
  // Folds the branch into W (W += scaling · B A) and removes it, as PEFT's merge_and_unload.
  void merge_lora();
  bool has_lora() const { return !lora_A.is_empty(); }
  // Keeps the branch's parameters but stops using them (PEFT's disable_adapter).
  void set_lora_enabled(bool enabled) { lora_enabled_ = enabled; }
  int64_t in_features, out_features;
  torch::Tensor weight, bias;
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};
  std::shared_ptr<const PackedWeight> packed;  // inference storage (pack_for_inference.h), else null

 private:
  torch::Tensor lora_branch(const torch::Tensor& x);  // scaling · B(A(dropout(x))), in lora.cpp

  double lora_scaling_ = 0.0;
  double lora_dropout_ = 0.0;
  bool lora_enabled_ = true;
};
TORCH_MODULE(Linear);

// x Wᵀ + b, by the kernel kernels::choose_linear_kernel picks for these tensors (one row: a
// matrix-vector product; a few fp32 or bf16 rows at inference: the row kernels; else libtorch).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

}  // namespace medvqa::model
