#pragma once
#include <torch/torch.h>

namespace medvqa::model {

// The most negative finite value of x's dtype: masked attention scores use it instead of -inf,
// so fully masked rows give a uniform softmax rather than NaN (as transformers does).
double lowest_value(const torch::Tensor& x);

}  // namespace medvqa::model
