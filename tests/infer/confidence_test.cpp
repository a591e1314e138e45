// Every answer's confidence: the probability of the generated tokens and of the token that ended
// them, at the model's calibration temperature; withheld below AnswerOptions::min_confidence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "testing/tiny_answerer.h"

namespace medvqa {
namespace {

image::Image test_image() { return image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg"); }

// Brute force, without the KV cache or the batch: greedy decoding by full forward passes, then
// the log-probability of the ids it chose (the answer's tokens and the token that ended them) with
// every position's logits divided by each temperature.
struct Greedy {
  std::vector<int64_t> ids;
  std::vector<double> log_probability;  // one per temperature
};
Greedy brute_force_greedy(infer::Answerer& answerer, const std::string& question, int64_t limit,
                          const std::vector<double>& temperatures) {
  torch::NoGradGuard no_grad;
  auto& m = answerer.model();
  const auto& c = m->config.text;
  auto row = answerer.tokenizer().encode(answerer.prompt(question));
  const int64_t start = m->config.num_query_tokens + int64_t(row.size()) - 1;
  Greedy g;
  torch::Tensor logits;
  for (int64_t step = 0; step < limit; ++step) {
    auto ids = torch::tensor(row, torch::kLong).unsqueeze(0);
    logits = m->forward(answerer.pixels({test_image()}), ids, torch::ones_like(ids))[0].to(torch::kFloat64);
    int64_t next = logits[-1].argmax().item<int64_t>();
    g.ids.push_back(next);
    row.push_back(next);
    if (next == c.eos_token_id || next == c.pad_token_id) break;
  }
  auto ids = torch::tensor(row, torch::kLong).unsqueeze(0);
  logits = m->forward(answerer.pixels({test_image()}), ids, torch::ones_like(ids))[0].to(torch::kFloat64);
  for (double t : temperatures) {
    auto logp = torch::log_softmax(logits / t, -1);
    double sum = 0;
    for (size_t j = 0; j < g.ids.size(); ++j) sum += logp[start + int64_t(j)][g.ids[j]].item<double>();
    g.log_probability.push_back(sum);
  }
  return g;
}

TEST(Confidence, IsTheProbabilityOfTheGeneratedAnswerAtTheModelsTemperature) {
  const auto& grid = eval::calibration_temperatures();
  for (double temperature : {1.0, 2.5}) {
    SCOPED_TRACE(temperature);
    auto tiny = testing::tiny_answerer(0.5, 11);
    eval::Calibration calibration;
    calibration.temperature = temperature;
    infer::Answerer answerer(tiny.model(), tiny.tokenizer(), "tiny", torch::kCPU, calibration);
    for (const char* question : {"Which organ is shown?", "Is there a fracture?", "What modality is this?"}) {
      infer::AnswerOptions options;
      options.max_new_tokens = 6;
      options.keep_temperature_curve = true;
      auto a = answerer.answer(test_image(), question, options);
      ASSERT_GT(a.confidence, 0);
      ASSERT_LE(a.confidence, 1);
      auto g = brute_force_greedy(answerer, question, options.max_new_tokens, {temperature, grid.front(), grid.back()});
      std::vector<int64_t> tokens(g.ids);
      const int64_t eos = answerer.model()->config.text.eos_token_id, pad = answerer.model()->config.text.pad_token_id;
      if (!tokens.empty() && (tokens.back() == eos || tokens.back() == pad)) tokens.pop_back();
      ASSERT_EQ(a.completion_tokens, int64_t(tokens.size())) << question;
      EXPECT_NEAR(std::log(a.confidence), g.log_probability[0], 1e-3) << question << " -> " << a.generated;
      // The curve holds the same quantity at every grid temperature.
      ASSERT_EQ(a.log_probability_by_temperature.size(), grid.size());
      EXPECT_NEAR(a.log_probability_by_temperature.front(), g.log_probability[1], 1e-3);
      EXPECT_NEAR(a.log_probability_by_temperature.back(), g.log_probability[2], 1e-3);
    }
  }
}

TEST(Confidence, RankedCandidatesCarryTheirProbabilityAndNoCurve) {
  auto answerer = testing::tiny_answerer(0.5, 11);
  infer::AnswerOptions options;
  options.rank_closed = true;
  options.keep_temperature_curve = true;
  auto a = answerer.answer(test_image(), "Is this a CT or an MRI?", options);
  ASSERT_EQ(a.closed_probabilities.size(), 2u);
  double best = std::max(a.closed_probabilities[0].second, a.closed_probabilities[1].second);
  EXPECT_DOUBLE_EQ(a.confidence, best);
  EXPECT_TRUE(a.log_probability_by_temperature.empty());
}

TEST(Confidence, AnswersBelowTheMinimumAreWithheld) {
  auto answerer = testing::tiny_answerer(0.5, 11);
  const std::vector<std::string> questions = {"Which organ is shown?", "Is there a fracture?", "Where is the lesion?"};
  const std::vector<image::Image> images(3, test_image());
  auto given = answerer.answer(images, questions);
  // A threshold between the answers' confidences withholds exactly those below it.
  std::vector<double> confidences;
  for (const auto& a : given) confidences.push_back(a.confidence);
  std::sort(confidences.begin(), confidences.end());
  ASSERT_LT(confidences.front(), confidences.back()) << "the answers need different confidences";
  infer::AnswerOptions options;
  options.min_confidence = (confidences.front() + confidences.back()) / 2;
  auto answers = answerer.answer(images, questions, options);
  for (size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].confidence, given[i].confidence);
    if (given[i].confidence < options.min_confidence) {
      EXPECT_TRUE(answers[i].uncertain);
      EXPECT_EQ(answers[i].text, infer::kUncertainAnswer);
      EXPECT_EQ(answers[i].withheld_answer, given[i].text);
    } else {
      EXPECT_FALSE(answers[i].uncertain);
      EXPECT_EQ(answers[i].text, given[i].text);
    }
  }
}

}  // namespace
}  // namespace medvqa
