#include "model/activations.h"

#include <ATen/record_function.h>

#include "kernels/bf16_kernels.h"
#include "model/inference_route.h"

namespace medvqa::model {

torch::Tensor bloom_gelu(const torch::Tensor& x) {
  if (is_bf16_on_cpu(x) && !grad_needed(x)) {
    RECORD_FUNCTION("medvqa::bloom_gelu", std::vector<c10::IValue>{});  // named in profiles
    auto in = x.contiguous();
    auto y = torch::empty_like(in);
    kernels::bloom_gelu_bf16(reinterpret_cast<const uint16_t*>(in.data_ptr<at::BFloat16>()),
                             reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()), in.numel());
    return y;
  }
  if (is_bf16_on_cpu(x)) return torch::gelu(x.to(torch::kFloat32), "tanh").to(x.scalar_type());
  return torch::gelu(x, "tanh");
}

torch::Tensor gelu_erf(const torch::Tensor& x) { return torch::gelu(x); }

}  // namespace medvqa::model
