// Closed questions (and open ones given an answer list): candidate answers ranked by the model's
// likelihood.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "testing/tiny_answerer.h"

namespace medvqa {
namespace {

// Large weights: candidates get clearly different scores.
infer::Answerer random_tiny_answerer() { return testing::tiny_answerer(0.5, 11); }

image::Image test_image() {
  return image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg");
}

TEST(ClosedRanking, ProbabilitiesAreTheNormalizedSequenceLikelihoods) {
  auto answerer = random_tiny_answerer();
  torch::NoGradGuard no_grad;
  auto prefix = answerer.model()->image_prefix(answerer.pixels({test_image()}));
  const std::string prompt = answerer.prompt("Is this a CT or an MRI?");
  const std::vector<std::string> candidates = {"ct", "mri"};
  auto probs = answerer.candidate_probabilities(prefix, prompt, candidates);
  ASSERT_EQ(probs.size(), 2u);
  EXPECT_NEAR(probs[0] + probs[1], 1.0, 1e-9);

  // Brute force: the full forward pass of each [prompt ; candidate ; EOS] alone.
  std::vector<double> logl;
  auto& m = answerer.model();
  for (const auto& c : candidates) {
    auto p = answerer.tokenizer().encode(prompt);
    auto a = answerer.tokenizer().encode(" " + c);
    a.push_back(m->config.text.eos_token_id);
    std::vector<int64_t> row(p);
    row.insert(row.end(), a.begin(), a.end());
    auto ids = torch::tensor(row, torch::kLong).unsqueeze(0);
    auto logits = m->forward(answerer.pixels({test_image()}), ids, torch::ones_like(ids));
    auto logp = torch::log_softmax(logits[0], -1);
    const int64_t start = m->config.num_query_tokens + int64_t(p.size()) - 1;
    double sum = 0;
    for (size_t j = 0; j < a.size(); ++j) sum += logp[start + int64_t(j)][a[j]].item<double>();
    logl.push_back(sum);
  }
  double expected0 = 1.0 / (1.0 + std::exp(logl[1] - logl[0]));
  EXPECT_NEAR(probs[0], expected0, 1e-4);
}

// A batch's closed questions are scored in one pass; each must score as it would alone.
TEST(ClosedRanking, ABatchScoresEachQuestionAsAlone) {
  auto answerer = random_tiny_answerer();
  torch::NoGradGuard no_grad;
  auto other = image::load_image(testing::data_root() + "/slake/imgs/xmlab69/source.jpg");
  auto prefix = answerer.model()->image_prefix(answerer.pixels({test_image(), other}));
  std::vector<infer::Answerer::CandidateQuery> queries = {
      {1, answerer.prompt("Is this a CT or an MRI?"), {"ct", "mri"}},
      {0, answerer.prompt("Is there a fracture in the left femur?"), {"yes", "no"}},
      {1, answerer.prompt("Is the lesion larger than the heart?"), {"yes", "no"}}};
  auto batched = answerer.candidate_probabilities(prefix, queries);
  ASSERT_EQ(batched.size(), queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    auto alone = answerer.candidate_probabilities(prefix.narrow(0, queries[i].image, 1), queries[i].prompt,
                                                  queries[i].candidates);
    ASSERT_EQ(batched[i].size(), alone.size());
    for (size_t k = 0; k < alone.size(); ++k) EXPECT_NEAR(batched[i][k], alone[k], 1e-5) << "query " << i;
  }
}

// answer() scores the candidates from the keys and values its generation computed for the
// prompts; the probabilities must be those of scoring them on their own.
TEST(ClosedRanking, AnswersScoreCandidatesFromTheGenerationsPrefill) {
  auto answerer = random_tiny_answerer();
  auto other = image::load_image(testing::data_root() + "/slake/imgs/xmlab69/source.jpg");
  const std::vector<std::string> questions = {"Is this a CT or an MRI?", "Which organ is shown?",
                                              "Is the lesion larger than the heart?"};
  auto answers = answerer.answer({test_image(), other, test_image()}, questions);
  torch::NoGradGuard no_grad;
  auto prefix = answerer.model()->image_prefix(answerer.pixels({test_image(), other, test_image()}));
  for (size_t i : {size_t(0), size_t(2)}) {
    const auto& got = answers[i].closed_probabilities;
    std::vector<std::string> candidates;
    for (const auto& [c, p] : got) candidates.push_back(c);
    auto alone = answerer.candidate_probabilities(prefix.narrow(0, int64_t(i), 1), answerer.prompt(questions[i]),
                                                  candidates);
    ASSERT_EQ(got.size(), 2u);
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k].second, alone[k], 1e-5) << "question " << i;
  }
  EXPECT_TRUE(answers[1].closed_probabilities.empty());
}

TEST(ClosedRanking, ClosedQuestionsAnswerWithTheBestCandidate) {
  auto answerer = random_tiny_answerer();
  infer::AnswerOptions ranked;
  ranked.rank_closed = true;
  auto a = answerer.answer(test_image(), "Is there a fracture?", ranked);
  ASSERT_EQ(a.closed_probabilities.size(), 2u);
  auto best = std::max_element(a.closed_probabilities.begin(), a.closed_probabilities.end(),
                               [](const auto& x, const auto& y) { return x.second < y.second; });
  EXPECT_EQ(a.text, best->first);
  infer::AnswerOptions free;
  free.rank_closed = false;
  auto g = answerer.answer(test_image(), "Is there a fracture?", free);
  EXPECT_EQ(g.text, g.generated);
  EXPECT_EQ(g.closed_probabilities.size(), 2u);  // reported either way
  auto open = answerer.answer(test_image(), "Which organ is shown?", ranked);
  EXPECT_TRUE(open.closed_probabilities.empty());
  EXPECT_EQ(open.text, open.generated);
}

// Open questions ranked over an answer list long enough that a batch's candidate rows take
// several passes: each answer is the list's most likely for that question alone.
TEST(OpenRanking, OpenQuestionsAnswerWithTheMostLikelyOfTheList) {
  auto answerer = random_tiny_answerer();
  infer::AnswerOptions options;
  for (const char* a : {"liver", "lung", "brain", "left lung", "right kidney", "ct", "mri", "x-ray"})
    options.open_candidates.push_back(a);
  for (int i = 0; int(options.open_candidates.size()) < 200; ++i)
    options.open_candidates.push_back("finding " + std::to_string(i));
  auto other = image::load_image(testing::data_root() + "/slake/imgs/xmlab69/source.jpg");
  const std::vector<std::string> questions = {"Which organ is shown?", "Is this a CT or an MRI?",
                                              "Where is the lesion?", "What modality is this?"};
  const std::vector<image::Image> images = {test_image(), other, other, test_image()};
  auto answers = answerer.answer(images, questions, options);
  torch::NoGradGuard no_grad;
  auto prefix = answerer.model()->image_prefix(answerer.pixels(images));
  for (size_t i : {size_t(0), size_t(2), size_t(3)}) {
    auto alone = answerer.candidate_probabilities(prefix.narrow(0, int64_t(i), 1), answerer.prompt(questions[i]),
                                                  options.open_candidates);
    const size_t best = size_t(std::max_element(alone.begin(), alone.end()) - alone.begin());
    EXPECT_EQ(answers[i].text, options.open_candidates[best]) << questions[i];
    EXPECT_NEAR(answers[i].confidence, alone[best], 1e-5) << questions[i];
    EXPECT_TRUE(answers[i].closed_probabilities.empty());
  }
  // A closed question keeps its own candidates, and its answer is generated.
  EXPECT_EQ(answers[1].closed_probabilities.size(), 2u);
  EXPECT_EQ(answers[1].text, answers[1].generated);
}

}  // namespace
}  // namespace medvqa
