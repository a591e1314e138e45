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

TEST(WeightAverage, IsTheWeightedMeanOfEveryParameter) {
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2), tiny(3)};
  auto a = copy_of(models[0]), b = copy_of(models[1]), c = copy_of(models[2]);
  ASSERT_FALSE(torch::equal(a.at("query_tokens"), b.at("query_tokens")));  // other seeds, other weights
  model::average_weights(models, {1, 2, 1}, {"a", "b", "c"});  // normalised: 1/4, 1/2, 1/4
  size_t checked = 0;
  for (auto& p : models[0]->named_parameters()) {
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
  model::average_weights(two, {}, {"a", "b"});
  for (auto& p : two[0]->named_parameters())
    EXPECT_TRUE(torch::allclose(p.value(), 0.5 * (a[p.key()] + b[p.key()]), 1e-6, 1e-7)) << p.key();

  std::vector<model::MedVqaModel> one = {tiny(5)};
  auto before = copy_of(one[0]);
  model::average_weights(one, {}, {"only"});
  for (auto& p : one[0]->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key();
}

TEST(WeightAverage, RefusesModelsOfAnotherShapeNamingTheTensorAndTheModel) {
  auto wider = testing::tiny_medvqa_config();
  wider.text.hidden_size = 48;
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2, wider)};
  std::string message = testing::error_of([&] { model::average_weights(models, {}, {"runs/a", "runs/wide"}); });
  EXPECT_NE(message.find("runs/wide"), std::string::npos) << message;
  EXPECT_NE(message.find("shape"), std::string::npos) << message;

  auto deeper = testing::tiny_medvqa_config();
  deeper.text.n_layer = 3;
  std::vector<model::MedVqaModel> other = {tiny(1), tiny(2, deeper)};
  message = testing::error_of([&] { model::average_weights(other, {}, {"runs/a", "runs/deep"}); });
  EXPECT_NE(message.find("runs/deep"), std::string::npos) << message;
}

TEST(WeightAverage, RefusesBadWeights) {
  std::vector<model::MedVqaModel> models = {tiny(1), tiny(2)};
  EXPECT_NE(testing::error_of([&] { model::average_weights(models, {1, -1}, {"a", "b"}); }).find("weight of b"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { model::average_weights(models, {0, 0}, {"a", "b"}); }).find("sum to zero"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { model::average_weights(models, {1}, {"a", "b"}); }).find("2 models but 1 weights"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] { model::average_weights(models, {1, std::nan("")}, {"a", "b"}); }).find("weight of b"),
            std::string::npos);
}

}  // namespace
}  // namespace medvqa
