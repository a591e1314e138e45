// infer::predict: batched answering of dataset examples with images decoded ahead of the model.
#include <gtest/gtest.h>

#include <filesystem>

#include "infer/evaluate.h"
#include "io/error.h"
#include "testing/tiny_answerer.h"

namespace medvqa {
namespace {

infer::Answerer tiny_answerer() { return testing::tiny_answerer(0.02, 7); }

std::vector<data::VqaExample> examples(size_t n) {
  std::vector<std::string> images;
  for (const auto& e : std::filesystem::directory_iterator(testing::data_root() + "/vqa-rad/images"))
    images.push_back(e.path().string());
  std::sort(images.begin(), images.end());
  const std::vector<std::string> questions = {"Is there a fracture?", "Which organ is shown?", "Is this an MRI?"};
  std::vector<data::VqaExample> out;
  for (size_t i = 0; i < n; ++i) {
    data::VqaExample e;
    e.id = "q" + std::to_string(i);
    e.image_path = images.at(i % 3);
    e.question = questions[i % questions.size()];
    e.answer = "yes";
    e.answer_type = i % 2 ? "OPEN" : "CLOSED";
    e.question_type = "PRES";
    e.language = "en";
    out.push_back(e);
  }
  return out;
}

TEST(Predict, AnswersInInputOrderAsTheModelAnswersEachBatch) {
  auto answerer = tiny_answerer();
  const auto ex = examples(7);
  std::vector<std::pair<size_t, size_t>> calls;
  auto predictions = infer::predict(answerer, ex, 3, [&](size_t done, size_t total) { calls.emplace_back(done, total); });

  ASSERT_EQ(predictions.size(), ex.size());
  const std::vector<std::pair<size_t, size_t>> expected_calls = {{3, 7}, {6, 7}, {7, 7}};
  EXPECT_EQ(calls, expected_calls);
  for (size_t begin = 0; begin < ex.size(); begin += 3) {
    std::vector<image::Image> images;
    std::vector<std::string> questions;
    for (size_t i = begin; i < std::min(ex.size(), begin + 3); ++i) {
      images.push_back(image::load_image(ex[i].image_path));
      questions.push_back(ex[i].question);
    }
    auto answers = answerer.answer(images, questions);
    for (size_t i = 0; i < answers.size(); ++i) EXPECT_EQ(predictions[begin + i].prediction, answers[i].text) << begin + i;
  }
  for (size_t i = 0; i < ex.size(); ++i) {
    EXPECT_EQ(predictions[i].id, ex[i].id);
    EXPECT_EQ(predictions[i].question, ex[i].question);
    EXPECT_EQ(predictions[i].answer, ex[i].answer);
    EXPECT_EQ(predictions[i].answer_type, ex[i].answer_type);
    EXPECT_EQ(predictions[i].question_type, "PRES");
    EXPECT_EQ(predictions[i].language, "en");
  }
}

TEST(Predict, UnmarkedQuestionsAreScoredAsOpen) {
  auto answerer = tiny_answerer();
  auto ex = examples(1);
  ex[0].answer_type.clear();
  EXPECT_EQ(infer::predict(answerer, ex, 4).at(0).answer_type, "OPEN");
}

TEST(Predict, AnUnreadableImageNamesTheQuestionAndTheFile) {
  auto answerer = tiny_answerer();
  auto ex = examples(9);
  ex[7].image_path = "/nonexistent/synpic0.jpg";
  try {
    infer::predict(answerer, ex, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/synpic0.jpg"), std::string::npos) << e.what();
  }
}

TEST(Predict, NothingToAnswerAndBadBatchSizes) {
  auto answerer = tiny_answerer();
  EXPECT_TRUE(infer::predict(answerer, {}, 8).empty());
  EXPECT_THROW(infer::predict(answerer, examples(1), 0), Error);
}

}  // namespace
}  // namespace medvqa
