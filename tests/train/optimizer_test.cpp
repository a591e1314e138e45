// The optimizer's parameter groups: which tensors decay, and lr_scales' multiples of the
// learning rate, seen in the size of AdamW's first step (lr per element, whatever the gradient).
#include <gtest/gtest.h>

#include "testing/testing.h"
#include "train/optimizer.h"

namespace medvqa::train {
namespace {

TEST(Optimizer, LrScalesMultiplyTheStepOfTheParametersTheyName) {
  torch::manual_seed(0);
  NamedTensors trainable;
  for (const char* name : {"query_tokens", "qformer.layer.0.weight", "qformer.layer.1.weight", "qformer.layer.1.bias",
                           "language_model.weight"})
    trainable.emplace_back(name, torch::randn({3, 4}).requires_grad_(true));
  TrainConfig config;
  config.weight_decay = 0.0;
  config.lr_scales = {{"qformer.", 5.0}, {"qformer.layer.1.", 2.0}, {"query_tokens", 5.0}};
  auto optimizer = make_adamw(trainable, config);
  optimizer.set_learning_rate(1e-3);
  std::vector<torch::Tensor> before;
  for (auto& [_, t] : trainable) {
    before.push_back(t.detach().clone());
    t.mutable_grad() = torch::randn_like(t);
  }
  optimizer.adamw->step();
  // The longest matching key wins: qformer.layer.1.* steps at 2x, the rest of qformer.* at 5x.
  const std::vector<double> expected = {5e-3, 5e-3, 2e-3, 2e-3, 1e-3};
  for (size_t i = 0; i < trainable.size(); ++i) {
    auto step = (trainable[i].second.detach() - before[i]).abs();
    EXPECT_NEAR(step.min().item<double>(), expected[i], expected[i] * 1e-3) << trainable[i].first;
    EXPECT_NEAR(step.max().item<double>(), expected[i], expected[i] * 1e-3) << trainable[i].first;
  }
}

TEST(Optimizer, MatricesDecayButQueryTokensAndVectorsDoNot) {
  NamedTensors trainable = {{"query_tokens", torch::ones({1, 2, 4})},
                            {"qformer.dense.weight", torch::ones({4, 4})},
                            {"qformer.dense.bias", torch::ones({4})}};
  TrainConfig config;
  config.weight_decay = 0.5;
  auto optimizer = make_adamw(trainable, config);
  ASSERT_EQ(optimizer.lr_scales, (std::vector<double>{1.0, 1.0}));
  const auto& groups = optimizer.adamw->param_groups();
  auto decay = [&](size_t g) { return static_cast<const torch::optim::AdamWOptions&>(groups[g].options()).weight_decay(); };
  ASSERT_EQ(groups[0].params().size(), 1u);
  EXPECT_TRUE(groups[0].params()[0].is_same(trainable[1].second));
  EXPECT_DOUBLE_EQ(decay(0), 0.5);
  EXPECT_EQ(groups[1].params().size(), 2u);
  EXPECT_DOUBLE_EQ(decay(1), 0.0);
}

TEST(Optimizer, AnLrScaleThatNamesNoTrainableParameterIsAnError) {
  NamedTensors trainable = {{"qformer.dense.weight", torch::ones({4, 4})}};
  TrainConfig config;
  config.name = "stage";
  config.lr_scales = {{"qformer", 5.0}, {"visual.", 0.1}};
  EXPECT_NE(testing::error_of([&] { make_adamw(trainable, config); }).find("lr_scales key 'visual.'"),
            std::string::npos);
}

}  // namespace
}  // namespace medvqa::train
