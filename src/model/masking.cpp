#include "model/masking.h"

#include <limits>

namespace medvqa::model {

double lowest_value(const torch::Tensor& x) {
  switch (x.scalar_type()) {
    case torch::kFloat64: return std::numeric_limits<double>::lowest();
    case torch::kFloat16: return -65504.0;
    case torch::kBFloat16: return -3.3895313892515355e38;
    default: return std::numeric_limits<float>::lowest();
  }
}

}  // namespace medvqa::model
