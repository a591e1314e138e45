// The floors every accuracy is read against: bootstrap intervals and the question-only prior.
#include <gtest/gtest.h>

#include "eval/floors.h"

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

Prediction question(const std::string& q, const std::string& answer, const std::string& type) {
  Prediction p;
  p.question = q;
  p.answer = answer;
  p.answer_type = type;
  return p;
}

TEST(QuestionPrior, AnswersWithTheMostFrequentTrainingAnswerToTheSameQuestion) {
  std::vector<TrainingQuestion> training = {
      {"Which organ is abnormal?", "Liver", "OPEN"},  {"which organ is abnormal ", "lung", "OPEN"},
      {"Which organ is abnormal?", "lung", "OPEN"},   {"Is this a CT?", "yes", "CLOSED"},
      {"Is this a CT?", "no", "CLOSED"},              {"Is the lung healthy?", "no", "CLOSED"},
      {"Is the lung healthy?", "no", "CLOSED"},       {"What is the modality?", "MRI", "OPEN"},
  };
  std::vector<Prediction> asked = {
      question("WHICH organ is abnormal?", "Lung", "OPEN"),  // lung 2 : liver 1
      question("Is this a CT?", "yes", "CLOSED"),            // a tie: the answer seen first
      question("Is the heart enlarged?", "no", "CLOSED"),    // unseen: the closed answers' majority, no
      question("What is in the image?", "lung", "OPEN"),     // unseen: the open answers' majority, lung
      question("What is the modality?", "CT", "OPEN"),
  };
  auto scores = question_prior_exact_match(training, asked);
  EXPECT_EQ(scores.all.n, 5u);
  EXPECT_DOUBLE_EQ(*scores.all.value(), 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(*scores.closed.value(), 1.0);
  EXPECT_DOUBLE_EQ(*scores.open.value(), 2.0 / 3.0);
}

}  // namespace
}  // namespace medvqa::eval
