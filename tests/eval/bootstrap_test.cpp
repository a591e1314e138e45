#include "eval/bootstrap.h"

#include <gtest/gtest.h>

namespace medvqa::eval {
namespace {

TEST(BootstrapInterval, HoldsTheMeanAndNarrowsWithMoreQuestions) {
  EXPECT_FALSE(bootstrap_interval({}).has_value());
  std::vector<double> few, many;
  for (int i = 0; i < 40; ++i) few.push_back(i % 4 == 0 ? 0.0 : 1.0);  // 75%
  for (int i = 0; i < 4000; ++i) many.push_back(i % 4 == 0 ? 0.0 : 1.0);
  auto a = bootstrap_interval(few), b = bootstrap_interval(many);
  ASSERT_TRUE(a && b);
  EXPECT_LT(a->low, 0.75);
  EXPECT_GT(a->high, 0.75);
  EXPECT_LT(b->low, 0.75);
  EXPECT_GT(b->high, 0.75);
  // The normal approximation's half-width, 1.96 sqrt(p(1-p)/n): about 0.134 for 40, 0.013 for 4000.
  EXPECT_NEAR(a->high - a->low, 2 * 0.134, 0.07);
  EXPECT_NEAR(b->high - b->low, 2 * 0.0134, 0.006);
  EXPECT_EQ(bootstrap_interval(few)->low, a->low);  // seeded: the same report every time
  auto constant = bootstrap_interval(std::vector<double>(10, 1.0));
  EXPECT_EQ(constant->low, 1.0);
  EXPECT_EQ(constant->high, 1.0);
}

}  // namespace
}  // namespace medvqa::eval
