// model::linear routes inference products of a few fp32 rows through the row kernels; they must
// equal BLAS's, and anything that needs gradients must keep going through libtorch.
#include <gtest/gtest.h>

#include "model/linear.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

using testing::all_close;

TEST(Linear, FewInferenceRowsEqualTheBlasProduct) {
  torch::manual_seed(3);
  auto w = torch::randn({37, 70}), b = torch::randn({37});
  torch::InferenceMode inference;
  // 1 row (matrix-vector), the kernels' 2..24, BLAS beyond; leading dimensions kept.
  for (int64_t m : {1, 2, 3, 5, 9, 24, 25, 40}) {
    auto x = torch::randn({m, 1, 70});
    auto y = linear(x, w, b);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{m, 1, 37}));
    EXPECT_TRUE(all_close(y, torch::nn::functional::linear(x, w, b), 1e-5, 1e-5, "rows " + std::to_string(m)));
    EXPECT_TRUE(all_close(model::linear(x, w), torch::nn::functional::linear(x, w), 1e-5, 1e-5, "no bias"));
  }
  auto strided = torch::randn({70, 4}).t();  // non-contiguous input rows
  EXPECT_TRUE(all_close(linear(strided, w, b), torch::nn::functional::linear(strided, w, b), 1e-5, 1e-5, "strided"));
}

TEST(Linear, GradientsStillFlowForFewRows) {
  torch::manual_seed(4);
  auto w = torch::randn({6, 10}, torch::requires_grad()), b = torch::randn({6}, torch::requires_grad());
  auto x = torch::randn({4, 10}, torch::requires_grad());
  linear(x, w, b).sum().backward();
  EXPECT_TRUE(all_close(w.grad(), x.detach().sum(0).unsqueeze(0).expand({6, 10}), 1e-5, 1e-5, "weight grad"));
  EXPECT_TRUE(all_close(x.grad(), w.detach().sum(0).unsqueeze(0).expand({4, 10}), 1e-5, 1e-5, "input grad"));
  EXPECT_TRUE(all_close(b.grad(), torch::full({6}, 4.0), 1e-6, 1e-6, "bias grad"));
}

}  // namespace
}  // namespace medvqa::model
