#include "eval/metrics.h"

#include <gtest/gtest.h>

#include "io/error.h"

namespace medvqa::eval {
namespace {

Prediction make(const std::string& id, const std::string& type, const std::string& answer,
                const std::string& prediction) {
  Prediction p;
  p.id = id;
  p.answer_type = type;
  p.answer = answer;
  p.prediction = prediction;
  p.question_type = "PRES";
  p.language = "en";
  return p;
}

TEST(AnswerType, ClosedOrOpenIgnoringCaseAndSpaces) {
  EXPECT_TRUE(is_closed_answer_type("CLOSED", "q"));
  EXPECT_TRUE(is_closed_answer_type("CLOSED ", "q"));  // VQA-RAD's stray space
  EXPECT_TRUE(is_closed_answer_type("closed", "q"));
  EXPECT_FALSE(is_closed_answer_type("OPEN", "q"));
  EXPECT_FALSE(is_closed_answer_type(" Open", "q"));
}

TEST(AnswerType, AnythingElseIsAnErrorNamingTheQuestion) {
  try {
    is_closed_answer_type("YESNO", "rad-17");
    FAIL() << "expected medvqa::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rad-17"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("YESNO"), std::string::npos) << e.what();
  }
  EXPECT_THROW(is_closed_answer_type("", "q"), Error);
}

TEST(TokenRecall, FractionOfReferenceTokensInPrediction) {
  EXPECT_EQ(answer_tokens("  left   lung "), (std::vector<std::string>{"left", "lung"}));
  EXPECT_EQ(token_recall("left lung", "left lung"), 1.0);
  EXPECT_EQ(token_recall("left lung", "the lung on the left"), 1.0);  // order does not matter
  EXPECT_EQ(token_recall("left lung", "right lung"), 0.5);            // 1 of 2
  EXPECT_EQ(token_recall("left lung", "lung lung lung"), 0.5);        // repeats in prediction count once
  EXPECT_EQ(token_recall("lung lung", "lung"), 1.0);                  // 2 of 2 reference tokens found
  EXPECT_EQ(token_recall("a b c d", "d x"), 0.25);
  EXPECT_EQ(token_recall("heart", "hearts"), 0.0);  // whole tokens, not substrings
  EXPECT_EQ(token_recall("brain", ""), 0.0);        // empty prediction
  EXPECT_EQ(token_recall("", ""), 1.0);             // empty reference: 1 only for an empty prediction
  EXPECT_EQ(token_recall("", "x"), 0.0);
  EXPECT_EQ(token_recall("左肺", "左肺"), 1.0);     // Chinese: one token, no spaces
  EXPECT_EQ(token_recall("左肺", "肺"), 0.0);
}

TEST(CandidateSet, NormalizesAndDeduplicatesKeepingFirstOrder) {
  const CandidateSet c({"Yes", "no", " yes", "YES", "", "Left Lung", "no"});
  EXPECT_EQ(c.answers(), (std::vector<std::string>{"yes", "no", "left lung"}));
  EXPECT_EQ(c.size(), 3u);
  EXPECT_TRUE(CandidateSet().empty());
}

TEST(CandidateSet, NearestByDifflibRatio) {
  const CandidateSet c({"yes", "no", "left lung", "right lung", "heart", "brain", "ct", "mri", "肺"});
  // python: max over candidates of SequenceMatcher(None, candidate, prediction).ratio()
  auto m = c.nearest("the left lung");  // "left lung" 0.8181818181818182, "right lung" 0.6086956521739131
  ASSERT_TRUE(m.candidate);
  EXPECT_EQ(*m.candidate, "left lung");
  EXPECT_EQ(m.ratio, 0.8181818181818182);
  m = c.nearest("hearts");  // 2*5/11
  ASSERT_TRUE(m.candidate);
  EXPECT_EQ(*m.candidate, "heart");
  EXPECT_EQ(m.ratio, 0.9090909090909091);
  m = c.nearest("肺");
  ASSERT_TRUE(m.candidate);
  EXPECT_EQ(*m.candidate, "肺");
  EXPECT_EQ(m.ratio, 1.0);
  // No shared character (or an empty prediction): every ratio is 0, so no candidate, as in MedVInT.
  EXPECT_FALSE(c.nearest("否").candidate);
  EXPECT_FALSE(c.nearest("").candidate);
  EXPECT_EQ(c.nearest("").ratio, 0.0);
}

TEST(CandidateSet, TiesGoToTheEarlierCandidate) {
  // ratio("ab", "a") == ratio("ba", "a") == 2/3.
  auto m = CandidateSet({"ab", "ba"}).nearest("a");
  ASSERT_TRUE(m.candidate);
  EXPECT_EQ(*m.candidate, "ab");
  m = CandidateSet({"ba", "ab"}).nearest("a");
  ASSERT_TRUE(m.candidate);
  EXPECT_EQ(*m.candidate, "ba");
  EXPECT_EQ(m.ratio, 0.6666666666666666);
}

TEST(CandidateSet, CandidateIsDifflibsFirstSequence) {
  // MedVInT calls SequenceMatcher(None, candidate, prediction): ratio("diet", "tide") = 0.5, while
  // the reverse order would give 0.25.
  const auto m = CandidateSet({"diet"}).nearest("tide");
  EXPECT_EQ(m.ratio, 0.5);
}

TEST(Score, ClosedQuestion) {
  const auto s = score(make("q1", "CLOSED", "Yes", "yes."), CandidateSet({"yes", "no"}));
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.reference_normalized, "yes");
  EXPECT_EQ(s.prediction_normalized, "yes");
  EXPECT_TRUE(s.exact_match);
  EXPECT_FALSE(s.token_recall);  // open questions only
  EXPECT_TRUE(s.nearest_available);
  EXPECT_TRUE(s.nearest_correct);
  EXPECT_EQ(s.nearest_ratio, 1.0);
}

TEST(Score, OpenQuestion) {
  const auto s = score(make("q2", "OPEN", "Left Lung", "The left lung"), CandidateSet({"left lung", "right lung"}));
  EXPECT_FALSE(s.closed);
  EXPECT_FALSE(s.exact_match);
  ASSERT_TRUE(s.token_recall);
  EXPECT_EQ(*s.token_recall, 1.0);
  ASSERT_TRUE(s.nearest);
  EXPECT_EQ(*s.nearest, "left lung");
  EXPECT_TRUE(s.nearest_correct);
}

TEST(Score, CaseSpacesAndTrailingPunctuationAreNormalized) {
  EXPECT_TRUE(score(make("q", "OPEN", "  Left   Lung ", "left lung."), CandidateSet()).exact_match);
  EXPECT_TRUE(score(make("q", "CLOSED", "No", "NO"), CandidateSet()).exact_match);
}

TEST(Score, EmptyPredictionIsWrongEverywhere) {
  const auto s = score(make("q", "OPEN", "brain", ""), CandidateSet({"brain"}));
  EXPECT_FALSE(s.exact_match);
  EXPECT_EQ(*s.token_recall, 0.0);
  EXPECT_FALSE(s.nearest);
  EXPECT_FALSE(s.nearest_correct);
}

TEST(Score, WithoutCandidatesNearestIsUnavailable) {
  const auto s = score(make("q", "OPEN", "brain", "brain"), CandidateSet());
  EXPECT_TRUE(s.exact_match);
  EXPECT_FALSE(s.nearest_available);
  EXPECT_FALSE(s.nearest_correct);
}

TEST(Score, CacheGivesTheSameAnswers) {
  const CandidateSet c({"left lung", "right lung", "heart"});
  NearestCache cache;
  for (int round = 0; round < 2; ++round) {
    const auto s = score(make("q", "OPEN", "heart", "hearts"), c, &cache);
    EXPECT_EQ(*s.nearest, "heart");
    EXPECT_EQ(s.nearest_ratio, 0.9090909090909091);
  }
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace medvqa::eval
