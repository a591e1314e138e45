#pragma once
// A linear layer's call described for the kernel table (kernels/linear_kernel.h): the one place
// where tensors become the facts the choice of kernel depends on.
#include <torch/torch.h>

#include "kernels/linear_kernel.h"

namespace medvqa::model {

// x [..., k] times the parameter `weight` [n, k] (+ bias).
kernels::LinearCall linear_call(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);
// x [..., k] times a weight of n rows held in packed `storage` (+ bias).
kernels::LinearCall packed_linear_call(const torch::Tensor& x, kernels::WeightStorage storage, int64_t n,
                                       const torch::Tensor& bias);

kernels::ValueType value_type(torch::Dtype dtype);

}  // namespace medvqa::model
