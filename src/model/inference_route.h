#pragma once
// When an op may leave libtorch for one of the CPU kernels: those have no backward, and they
// exist because libtorch 1.13's own bf16 CPU kernels are slow.
#include <torch/torch.h>

namespace medvqa::model {

// libtorch 1.13's bf16 CPU kernels for some elementwise and normalizing ops are several times
// slower than converting to fp32 and back: those ops take the fp32 route (or a kernel) for such
// inputs.
inline bool is_bf16_on_cpu(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && x.device().is_cpu();
}

// Whether autograd would record an op on these tensors: the kernels serve inference only.
inline bool grad_needed(const torch::Tensor& a, const torch::Tensor& b = {}, const torch::Tensor& c = {}) {
  auto tracked = [](const torch::Tensor& t) { return t.defined() && t.requires_grad(); };
  return torch::GradMode::is_enabled() && (tracked(a) || tracked(b) || tracked(c));
}

}  // namespace medvqa::model
