// BLOOM's hidden_dropout: a training-time regulariser that must leave inference untouched.
#include <gtest/gtest.h>

#include "io/error.h"
#include "model/bloom.h"
#include "model/config.h"
#include "model/init.h"

namespace medvqa::model {
namespace {

BloomConfig tiny(double hidden_dropout) {
  BloomConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.hidden_dropout = hidden_dropout;
  return c;
}

TEST(BloomDropout, ConfigReadsWritesAndChecksIt) {
  EXPECT_DOUBLE_EQ(BloomConfig::from_json({{"hidden_dropout", 0.1}}).hidden_dropout, 0.1);
  EXPECT_DOUBLE_EQ(BloomConfig::from_json(tiny(0.25).to_json()).hidden_dropout, 0.25);
  EXPECT_DOUBLE_EQ(BloomConfig::from_json(nlohmann::json::object()).hidden_dropout, 0.0);
  EXPECT_THROW(BloomConfig::from_json({{"hidden_dropout", 1.0}}), Error);
  EXPECT_THROW(BloomConfig::from_json({{"hidden_dropout", -0.1}}), Error);
}

TEST(BloomDropout, DropsOnlyInTraining) {
  torch::manual_seed(0);
  BloomForCausalLM with(tiny(0.5)), without(tiny(0.0));
  init_weights(*with, 0.02, 0);
  torch::NoGradGuard no_grad;
  auto target = without->named_parameters();
  for (const auto& p : with->named_parameters()) target[p.key()].copy_(p.value());
  const auto ids = torch::tensor({{5, 9, 2, 17, 30, 1}}, torch::kLong);
  const auto mask = torch::ones_like(ids);
  with->eval();
  without->eval();
  EXPECT_TRUE(torch::equal(with->forward(ids, mask), without->forward(ids, mask)));
  with->train();
  const auto a = with->forward(ids, mask), b = with->forward(ids, mask);
  EXPECT_FALSE(torch::allclose(a, without->forward(ids, mask)));
  EXPECT_FALSE(torch::allclose(a, b));  // a fresh mask per call
  without->train();
  EXPECT_TRUE(torch::equal(without->forward(ids, mask), without->forward(ids, mask)));
}

}  // namespace
}  // namespace medvqa::model
