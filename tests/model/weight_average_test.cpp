// medvqa average's arithmetic: the weighted mean of every parameter, and the refusals.
#include <gtest/gtest.h>

#include "io/error.h"
#include "model/fixtures.h"
#include "model/init.h"
#include "model/weight_average.h"
#include "testing/testing.h"

namespace medvqa {
namespace {

model::MedVqaModel tiny(uint64_t seed, model::MedVqaConfig config = testing::tiny_medvqa_config()) {
  model::MedVqaModel m(config);
  model::init_weights(*m, 0.02, seed);
  return m;
}

std::map<std::string, torch::Tensor> copy_of(model::MedVqaModel& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& p : m->named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

// The mean of `models` with `weights` (equal when empty), as medvqa average computes it.
model::MedVqaModel average(std::vector<model::MedVqaModel>& models, std::vector<double> weights,
                           const std::vector<std::string>& labels) {
  if (weights.empty()) weights.assign(models.size(), 1.0);
  model::WeightAverage mean(models[0], weights[0], labels[0]);
  for (size_t i = 1; i < models.size(); ++i) mean.add(models[i], weights[i], labels[i]);
  return mean.finish();
}

TEST(WeightAverage, IsTheWeightedMeanOfEveryParameter) {
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2), tiny(3)};
  auto a = copy_of(models[0]), b = copy_of(models[1]), c = copy_of(models[2]);
  ASSERT_FALSE(torch::equal(a.at("query_tokens"), b.at("query_tokens")));  // other seeds, other weights
  auto mean = average(models, {1, 2, 1}, {"a", "b", "c"});  // normalised: 1/4, 1/2, 1/4
  size_t checked = 0;
  for (auto& p : mean->named_parameters()) {
    auto expected = 0.25 * a[p.key()] + 0.5 * b[p.key()] + 0.25 * c[p.key()];
    EXPECT_TRUE(torch::allclose(p.value(), expected, 1e-6, 1e-7)) << p.key();
    ++checked;
  }
  EXPECT_EQ(checked, a.size());
  // The other models are read, not changed.
  for (auto& p : models[1]->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST(WeightAverage, EqualWeightsByDefaultAndTheMeanOfOneModelIsItself) {
  std::vector<model::MedVqaModel> two = {tiny(1), tiny(2)};
  auto a = copy_of(two[0]), b = copy_of(two[1]);
  auto mean = average(two, {}, {"a", "b"});
  for (auto& p : mean->named_parameters())
    EXPECT_TRUE(torch::allclose(p.value(), 0.5 * (a[p.key()] + b[p.key()]), 1e-6, 1e-7)) << p.key();

  std::vector<model::MedVqaModel> one = {tiny(5)};
  auto before = copy_of(one[0]);
  auto itself = average(one, {}, {"only"});
  for (auto& p : itself->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key();
}

TEST(WeightAverage, RefusesModelsOfAnotherShapeNamingTheTensorAndTheModel) {
  auto wider = testing::tiny_medvqa_config();
  wider.text.hidden_size = 48;
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2, wider)};
  std::string message = testing::error_of([&] { average(models, {}, {"runs/a", "runs/wide"}); });
  EXPECT_NE(message.find("runs/wide"), std::string::npos) << message;
  EXPECT_NE(message.find("shape"), std::string::npos) << message;

  auto deeper = testing::tiny_medvqa_config();
  deeper.text.n_layer = 3;
  std::vector<model::MedVqaModel> other = {tiny(1), tiny(2, deeper)};
  message = testing::error_of([&] { average(other, {}, {"runs/a", "runs/deep"}); });
  EXPECT_NE(message.find("runs/deep"), std::string::npos) << message;
}

TEST(WeightAverage, RefusesBadWeights) {
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2)};
  EXPECT_NE(testing::error_of([&] { average(models, {1, -1}, {"a", "b"}); }).find("weight of b"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { average(models, {0, 0}, {"a", "b"}); }).find("sum to zero"), std::string::npos);
  EXPECT_NE(testing::error_of([&] { average(models, {1, std::nan("")}, {"a", "b"}); }).find("weight of b"),
            std::string::npos);
}

}  // namespace
}  // namespace medvqa
