#include "model/linear.h"

#include <cmath>

#include "kernels/linear_kernel.h"
#include "kernels/packed_kernels.h"
#include "model/linear_call.h"

namespace medvqa::model {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    double bound = 1.0 / std::sqrt(double(in));
    bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
  }
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  auto out_sizes = [&] {
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return sizes;
  };
  switch (kernels::choose_linear_kernel(linear_call(x, weight, bias))) {
    case kernels::LinearKernel::kBf16Dot: {
      auto y = bf16_dot_product(x, weight);
      if (bias.defined()) y.add_(bias);  // a bf16 bias widens exactly inside the add
      return y.to(torch::kBFloat16);
    }
    case kernels::LinearKernel::kMatrixVector: {
      auto y = torch::mv(weight, x.reshape({-1}));
      if (bias.defined()) y = y + bias;
      return y.view(out_sizes());
    }
    case kernels::LinearKernel::kF32Rows: {
      const int64_t k = weight.size(1), n = weight.size(0);
      auto x2 = x.reshape({-1, k}).contiguous();
      auto y = torch::empty({x2.size(0), n}, x.options());
      kernels::f32_rows(x2.data_ptr<float>(), x2.size(0), weight.data_ptr<float>(), k, n, y.data_ptr<float>());
      if (bias.defined()) y.add_(bias);
      return y.view(out_sizes());
    }
    default: return torch::nn::functional::linear(x, weight, bias);
  }
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = packed ? packed->linear(x, bias) : linear(x, weight, bias);
  return has_lora() && lora_enabled_ ? y + lora_branch(x) : y;
}

}  // namespace medvqa::model
