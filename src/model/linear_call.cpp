#include "model/linear_call.h"

#include "model/autocast.h"
#include "model/inference_route.h"

namespace medvqa::model {
namespace {

int64_t rows_of(const torch::Tensor& x) { return x.dim() > 0 && x.size(-1) > 0 ? x.numel() / x.size(-1) : 0; }

kernels::BiasKind bias_kind(const torch::Tensor& bias, int64_t n) {
  if (!bias.defined()) return kernels::BiasKind::kNone;
  if (bias.scalar_type() != torch::kBFloat16) return kernels::BiasKind::kOther;
  return bias.dim() == 1 && bias.size(0) == n && bias.device().is_cpu() ? kernels::BiasKind::kBf16Vector
                                                                        : kernels::BiasKind::kBf16;
}

}  // namespace

kernels::ValueType value_type(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return kernels::ValueType::kFloat32;
    case torch::kBFloat16: return kernels::ValueType::kBFloat16;
    default: return kernels::ValueType::kOther;
  }
}

kernels::LinearCall linear_call(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  kernels::LinearCall c;
  c.rows = rows_of(x);
  c.input = value_type(x.scalar_type());
  c.weight = value_type(weight.scalar_type());
  c.storage = kernels::WeightStorage::kParameter;
  c.bias = bias_kind(bias, weight.dim() == 2 ? weight.size(0) : -1);
  c.same_dtype = x.scalar_type() == weight.scalar_type();
  c.on_cpu = x.device().is_cpu() && weight.device().is_cpu() && weight.dim() == 2 && weight.is_contiguous() &&
             x.layout() == torch::kStrided && x.dim() > 0 && x.size(-1) == weight.size(1) && x.size(-1) > 0;
  c.autograd = grad_needed(x, weight, bias);
  c.autocast = autocast_enabled(x.device().type());
  return c;
}

kernels::LinearCall packed_linear_call(const torch::Tensor& x, kernels::WeightStorage storage, int64_t n,
                                       const torch::Tensor& bias) {
  kernels::LinearCall c;
  c.rows = rows_of(x);
  c.input = value_type(x.scalar_type());
  c.weight = storage == kernels::WeightStorage::kPackedInt8 ? kernels::ValueType::kOther : kernels::ValueType::kBFloat16;
  c.storage = storage;
  c.bias = bias_kind(bias, n);
  c.same_dtype = x.scalar_type() == torch::kBFloat16 && storage != kernels::WeightStorage::kPackedInt8;
  c.on_cpu = x.device().is_cpu();
  c.autograd = grad_needed(x);
  c.autocast = autocast_enabled(x.device().type());
  return c;
}

}  // namespace medvqa::model
