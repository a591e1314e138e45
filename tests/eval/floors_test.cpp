// The question-only prior, the floor every accuracy is read against.
#include <gtest/gtest.h>

#include "eval/floors.h"

namespace medvqa::eval {
namespace {

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
