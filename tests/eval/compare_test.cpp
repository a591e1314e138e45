// `medvqa eval compare`: McNemar's exact test, the paired difference and its interval, and two
// predictions files paired by question (and refused when they hold different questions).
#include <gtest/gtest.h>

#include <fstream>

#include "eval/compare.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::eval {
namespace {

TEST(McNemarExact, MatchesTheBinomialTail) {
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_NEAR(mcnemar_exact_p(1, 9), 2.0 * 11 / 1024, 1e-12);  // 2 (C(10,0) + C(10,1)) / 2^10
  EXPECT_NEAR(mcnemar_exact_p(9, 1), 2.0 * 11 / 1024, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(0, 6), 2.0 / 64, 1e-12);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(5, 5), 1.0);
  // Thousands of discordant pairs stay finite: 600 vs 400 is far from chance.
  const double p = mcnemar_exact_p(600, 400);
  EXPECT_GT(p, 0);
  EXPECT_LT(p, 1e-9);
}

TEST(ComparePaired, CountsAgreementAndTheDifference) {
  //            right/right, A only, B only x3, wrong/wrong x2
  std::vector<bool> a = {true, true, false, false, false, false, false};
  std::vector<bool> b = {true, false, true, true, true, false, false};
  auto c = compare_paired(a, b);
  EXPECT_EQ(c.n, 7u);
  EXPECT_EQ(c.both_right, 1u);
  EXPECT_EQ(c.only_a, 1u);
  EXPECT_EQ(c.only_b, 3u);
  EXPECT_EQ(c.both_wrong, 2u);
  EXPECT_NEAR(c.accuracy_a, 2.0 / 7, 1e-12);
  EXPECT_NEAR(c.accuracy_b, 4.0 / 7, 1e-12);
  EXPECT_NEAR(c.difference, 2.0 / 7, 1e-12);
  ASSERT_TRUE(c.difference_95);
  EXPECT_LE(c.difference_95->low, c.difference);
  EXPECT_GE(c.difference_95->high, c.difference);
  EXPECT_NEAR(c.mcnemar_p, mcnemar_exact_p(1, 3), 1e-12);
  // Identical answers: no difference, an interval of zero width, p = 1.
  auto same = compare_paired(a, a);
  EXPECT_EQ(same.difference, 0);
  EXPECT_EQ(same.difference_95->low, 0);
  EXPECT_EQ(same.difference_95->high, 0);
  EXPECT_EQ(same.mcnemar_p, 1);
  EXPECT_THROW(compare_paired(a, {true}), Error);
}

std::string line(const std::string& id, const std::string& question, bool closed, bool correct,
                 const std::string& language = "en") {
  return nlohmann::json({{"id", id},
                         {"question", question},
                         {"language", language},
                         {"answer_type", closed ? "CLOSED" : "OPEN"},
                         {"correct", {{"exact_match", correct}, {"nearest_candidate", nullptr}}}})
             .dump() +
         "\n";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ComparePredictionFiles, PairsQuestionsByIdAndLanguageInAnyOrder) {
  testing::TempDir dir;
  const std::string a = dir.file("a.jsonl"), b = dir.file("b.jsonl");
  write(a, line("1", "Is this a CT?", true, false) + line("1", "这是CT吗?", true, true, "zh") +
               line("2", "Which organ?", false, false) + line("3", "Is it normal?", true, true));
  // B in another order: question 1 (en) and 2 become right.
  write(b, line("2", "Which organ?", false, true) + line("3", "Is it normal?", true, true) +
               line("1", "这是CT吗?", true, true, "zh") + line("1", "Is this a CT?", true, true));
  auto c = compare_prediction_files(a, b);
  EXPECT_EQ(c.overall.n, 4u);
  EXPECT_EQ(c.overall.only_b, 2u);
  EXPECT_EQ(c.overall.only_a, 0u);
  EXPECT_EQ(c.closed.n, 3u);
  EXPECT_EQ(c.closed.only_b, 1u);
  EXPECT_EQ(c.open.n, 1u);
  EXPECT_NEAR(c.overall.difference, 0.5, 1e-12);
  const auto j = to_json(c);
  EXPECT_EQ(j["overall"]["only_b"], 2);
  EXPECT_EQ(j["open"]["n"], 1);
  const std::string table = format_comparison(c);
  EXPECT_NE(table.find("overall"), std::string::npos) << table;
  EXPECT_NE(table.find("+50.0"), std::string::npos) << table;
}

TEST(ComparePredictionFiles, DifferentQuestionsAndBadLinesAreErrorsNamingThem) {
  testing::TempDir dir;
  const std::string a = dir.file("a.jsonl"), b = dir.file("b.jsonl");
  write(a, line("1", "Is this a CT?", true, true) + line("2", "Which organ?", false, false));
  auto expect_error = [&](const std::string& b_text, const std::string& fragment) {
    write(b, b_text);
    try {
      compare_prediction_files(a, b);
      ADD_FAILURE() << "expected an error containing " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error(line("1", "Is this a CT?", true, true), "question 2 (en)");
  expect_error(line("1", "Is this a CT?", true, true) + line("2", "Which organ?", false, false) +
                   line("9", "Extra?", true, true),
               "1 questions that");
  expect_error(line("1", "Is this an MRI?", true, true) + line("2", "Which organ?", false, false), "Is this an MRI?");
  expect_error(line("1", "Is this a CT?", true, true) + "{\"id\": \"2\"\n", b + ":2");
  expect_error(line("1", "Is this a CT?", true, true) + line("1", "Is this a CT?", true, true), "again");
  expect_error("", "no predictions");
}

}  // namespace
}  // namespace medvqa::eval
