#include "eval/report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/error.h"
#include "make_prediction.h"
#include "testing/testing.h"

namespace medvqa::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

using testing::read_file;

size_t entries_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

Prediction make(const std::string& id, const std::string& type, const std::string& answer,
                const std::string& prediction, const std::string& question_type, const std::string& language) {
  return make_prediction(id, type, answer, prediction, question_type, language);
}

const std::vector<std::string> kCandidates = {"Yes", "no", "left lung", "right lung", "heart",
                                              "brain", "CT", "mri", "肺", "yes"};

// Hand-scored predictions. Per question: exact_match (EM), open_token_recall (TR, open only) and
// nearest_candidate (NC: nearest training answer by difflib ratio == reference):
//   q1 CLOSED PRES en  "Yes"/"yes."            EM 1        NC "yes" (1.0)         1
//   q2 CLOSED PRES en  "no"/"yes"              EM 0        NC "yes"               0
//   q3 CLOSED POS  en  "left"/"Left lung"      EM 0        NC "left lung" != left 0
//   q4 OPEN   POS  en  "left lung"/"the left lung" EM 0 TR 2/2 = 1   NC "left lung" (0.818) 1
//   q5 OPEN   ORGAN en "Brain"/""              EM 0 TR 0   NC none                0
//   q6 OPEN   ORGAN en "heart"/"hearts"        EM 0 TR 0   NC "heart" (10/11)     1
//   q7 OPEN   ORGAN zh "肺"/"肺"               EM 1 TR 1   NC "肺"                1
//   q8 CLOSED PRES zh  "是"/"否"               EM 0        NC none (no shared char) 0
//   q9 OPEN   ""    ""  "MRI"/"mri"            EM 1 TR 1   NC "mri"               1
// Totals: closed {q1,q2,q3,q8} n=4, open {q4,q5,q6,q7,q9} n=5, all n=9.
//   EM: closed 1/4 = 0.25, open 2/5 = 0.4, all 3/9.
//   TR: open (1+0+0+1+1)/5 = 0.6.
//   NC: closed 1/4 = 0.25, open 4/5 = 0.8, all 5/9.
std::vector<Prediction> hand_made() {
  std::vector<Prediction> v = {
      make("q1", "CLOSED", "Yes", "yes.", "PRES", "en"),
      make("q2", "CLOSED ", "no", "yes", "PRES", "en"),
      make("q3", "CLOSED", "left", "Left lung", "POS", "en"),
      make("q4", "OPEN", "left lung", "the left lung", "POS", "en"),
      make("q5", "OPEN", "Brain", "", "ORGAN", "en"),
      make("q6", "OPEN", "heart", "hearts", "ORGAN", "en"),
      make("q7", "OPEN", "肺", "肺", "ORGAN", "zh"),
      make("q8", "CLOSED", "是", "否", "PRES", "zh"),
      make("q9", "OPEN", "MRI", "mri", "", ""),
  };
  v[0].closed_probabilities = {{"yes", 0.875}, {"no", 0.125}};
  return v;
}

const ReportMeta kMeta{"slake", "/data/slake/validate.json", "/models/medvqa", "2024-05-01"};

TEST(Evaluate, HandScoredTotals) {
  const Report r = evaluate(hand_made(), kCandidates, kMeta);
  EXPECT_EQ(r.candidates, 9u);  // "Yes" and "yes" are one candidate
  const GroupScores& t = r.total;
  EXPECT_EQ(t.n, 9u);
  EXPECT_EQ(t.n_closed, 4u);
  EXPECT_EQ(t.n_open, 5u);
  EXPECT_DOUBLE_EQ(*t.exact_match.closed.value(), 0.25);
  EXPECT_DOUBLE_EQ(*t.exact_match.open.value(), 0.4);
  EXPECT_DOUBLE_EQ(*t.exact_match.all.value(), 3.0 / 9.0);
  EXPECT_EQ(t.open_token_recall.n, 5u);
  EXPECT_DOUBLE_EQ(*t.open_token_recall.value(), 0.6);
  EXPECT_DOUBLE_EQ(*t.nearest_candidate.closed.value(), 0.25);
  EXPECT_DOUBLE_EQ(*t.nearest_candidate.open.value(), 0.8);
  EXPECT_DOUBLE_EQ(*t.nearest_candidate.all.value(), 5.0 / 9.0);
  ASSERT_EQ(r.predictions.size(), 9u);
  EXPECT_EQ(r.predictions[3].input.id, "q4");  // input order kept
}

TEST(Evaluate, Breakdowns) {
  const Report r = evaluate(hand_made(), kCandidates, kMeta);
  ASSERT_EQ(r.by_answer_type.size(), 2u);
  EXPECT_EQ(r.by_answer_type.at("CLOSED").n, 4u);  // "CLOSED " counted with "CLOSED"
  EXPECT_EQ(r.by_answer_type.at("OPEN").n, 5u);

  // question_type: PRES {q1,q2,q8}, POS {q3,q4}, ORGAN {q5,q6,q7}, (none) {q9}.
  ASSERT_EQ(r.by_question_type.size(), 4u);
  const auto& pres = r.by_question_type.at("PRES");
  EXPECT_EQ(pres.n, 3u);
  EXPECT_EQ(pres.n_open, 0u);
  EXPECT_DOUBLE_EQ(*pres.exact_match.all.value(), 1.0 / 3.0);
  EXPECT_FALSE(pres.open_token_recall.value());  // no open question: null, not 0
  EXPECT_FALSE(pres.exact_match.open.value());
  const auto& pos = r.by_question_type.at("POS");
  EXPECT_EQ(pos.n, 2u);
  EXPECT_DOUBLE_EQ(*pos.exact_match.all.value(), 0.0);
  EXPECT_DOUBLE_EQ(*pos.open_token_recall.value(), 1.0);
  EXPECT_DOUBLE_EQ(*pos.nearest_candidate.all.value(), 0.5);
  const auto& organ = r.by_question_type.at("ORGAN");
  EXPECT_EQ(organ.n, 3u);
  EXPECT_DOUBLE_EQ(*organ.exact_match.all.value(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*organ.open_token_recall.value(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*organ.nearest_candidate.all.value(), 2.0 / 3.0);
  EXPECT_EQ(r.by_question_type.at("(none)").n, 1u);

  // language: en {q1..q6}, zh {q7,q8}, (none) {q9}.
  ASSERT_EQ(r.by_language.size(), 3u);
  const auto& en = r.by_language.at("en");
  EXPECT_EQ(en.n, 6u);
  EXPECT_EQ(en.n_closed, 3u);
  EXPECT_DOUBLE_EQ(*en.exact_match.all.value(), 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(*en.open_token_recall.value(), 1.0 / 3.0);  // q4 1, q5 0, q6 0
  EXPECT_DOUBLE_EQ(*en.nearest_candidate.all.value(), 0.5);    // q1, q4, q6
  const auto& zh = r.by_language.at("zh");
  EXPECT_EQ(zh.n, 2u);
  EXPECT_DOUBLE_EQ(*zh.exact_match.closed.value(), 0.0);
  EXPECT_DOUBLE_EQ(*zh.exact_match.open.value(), 1.0);
  EXPECT_DOUBLE_EQ(*zh.nearest_candidate.all.value(), 0.5);
  EXPECT_EQ(r.by_language.at("(none)").n, 1u);
}

TEST(ReportJson, TopLevelFieldsAndRanges) {
  const json j = report_json(evaluate(hand_made(), kCandidates, kMeta));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"n", "n_closed", "n_open", "main_metric", "overall", "closed", "open",
                                            "interval_95", "question_prior", "controls", "confidence", "metrics", "breakdown", "meta"}));
  EXPECT_TRUE(j.at("question_prior").is_null());  // no training questions given
  EXPECT_TRUE(j.at("confidence").is_null());      // no prediction carries a confidence
  const auto& overall = j.at("interval_95").at("overall");
  EXPECT_LE(overall[0].get<double>(), 3.0 / 9.0);
  EXPECT_GE(overall[1].get<double>(), 3.0 / 9.0);
  EXPECT_EQ(j.at("n"), 9);
  EXPECT_EQ(j.at("n_closed"), 4);
  EXPECT_EQ(j.at("n_open"), 5);
  EXPECT_EQ(j.at("main_metric"), "exact_match");
  EXPECT_DOUBLE_EQ(j.at("overall").get<double>(), 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(j.at("closed").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j.at("open").get<double>(), 0.4);

  const json& m = j.at("metrics");
  for (const char* name : {kExactMatch, kNearestCandidate}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(m.contains(name));
    EXPECT_TRUE(m.at(name).at("description").is_string());
    EXPECT_EQ(m.at(name).at("closed").at("n"), 4);
    EXPECT_EQ(m.at(name).at("open").at("n"), 5);
    EXPECT_EQ(m.at(name).at("all").at("n"), 9);
    for (const char* scope : {"closed", "open", "all"}) {
      const double v = m.at(name).at(scope).at("value").get<double>();
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
  }
  EXPECT_EQ(m.at(kExactMatch).at("all").at("correct"), 3);
  EXPECT_EQ(m.at(kNearestCandidate).at("all").at("correct"), 5);
  EXPECT_EQ(m.at(kNearestCandidate).at("candidates"), 9);
  EXPECT_EQ(m.at(kNearestCandidate).at("available"), true);
  // open_token_recall has only the open scope.
  EXPECT_FALSE(m.at(kOpenTokenRecall).contains("closed"));
  EXPECT_FALSE(m.at(kOpenTokenRecall).contains("all"));
  EXPECT_EQ(m.at(kOpenTokenRecall).at("open").at("n"), 5);
  EXPECT_DOUBLE_EQ(m.at(kOpenTokenRecall).at("open").at("value").get<double>(), 0.6);

  const json& b = j.at("breakdown");
  EXPECT_EQ(b.at("answer_type").size(), 2u);
  EXPECT_EQ(b.at("question_type").at("ORGAN").at("n"), 3);
  EXPECT_DOUBLE_EQ(b.at("question_type").at("ORGAN").at(kNearestCandidate).at("all").at("value").get<double>(),
                   2.0 / 3.0);
  EXPECT_TRUE(b.at("question_type").at("PRES").at(kOpenTokenRecall).at("open").at("value").is_null());
  EXPECT_EQ(b.at("language").at("zh").at("n"), 2);
  EXPECT_EQ(b.at("language").at("zh").at("n_open"), 1);

  EXPECT_EQ(j.at("meta").at("dataset"), "slake");
  EXPECT_EQ(j.at("meta").at("split_path"), "/data/slake/validate.json");
  EXPECT_EQ(j.at("meta").at("model_path"), "/models/medvqa");
  EXPECT_EQ(j.at("meta").at("date"), "2024-05-01");
}

TEST(ReportJson, ZeroOpenQuestionsAreNull) {
  std::vector<Prediction> v = {make("a", "CLOSED", "yes", "yes", "PRES", "en"),
                               make("b", "CLOSED", "no", "yes", "PRES", "en")};
  const Report r = evaluate(v, kCandidates, kMeta);
  const json j = report_json(r);
  EXPECT_DOUBLE_EQ(j.at("closed").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j.at("overall").get<double>(), 0.5);
  EXPECT_TRUE(j.at("open").is_null());
  EXPECT_EQ(j.at("n_open"), 0);
  EXPECT_EQ(j.at("metrics").at(kExactMatch).at("open").at("n"), 0);
  EXPECT_TRUE(j.at("metrics").at(kExactMatch).at("open").at("value").is_null());
  EXPECT_TRUE(j.at("metrics").at(kOpenTokenRecall).at("open").at("value").is_null());
  EXPECT_TRUE(j.at("metrics").at(kNearestCandidate).at("open").at("value").is_null());
  EXPECT_FALSE(j.at("breakdown").at("answer_type").contains("OPEN"));
  const std::string table = format_table(r);
  EXPECT_NE(table.find("open"), std::string::npos);
}

TEST(ReportJson, ZeroClosedQuestionsAreNull) {
  std::vector<Prediction> v = {make("a", "OPEN", "left lung", "left lung", "POS", "en"),
                               make("b", "OPEN", "left lung", "lung", "POS", "en")};
  const json j = report_json(evaluate(v, kCandidates, kMeta));
  EXPECT_TRUE(j.at("closed").is_null());
  EXPECT_DOUBLE_EQ(j.at("open").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j.at("metrics").at(kOpenTokenRecall).at("open").at("value").get<double>(), 0.75);  // (1+1/2)/2
  EXPECT_TRUE(j.at("metrics").at(kExactMatch).at("closed").at("value").is_null());
  EXPECT_TRUE(j.at("metrics").at(kNearestCandidate).at("closed").at("value").is_null());
}

TEST(ReportJson, NoQuestionsAtAll) {
  const Report r = evaluate({}, kCandidates, kMeta);
  const json j = report_json(r);
  EXPECT_EQ(j.at("n"), 0);
  EXPECT_TRUE(j.at("overall").is_null());
  EXPECT_TRUE(j.at("closed").is_null());
  EXPECT_TRUE(j.at("open").is_null());
  EXPECT_TRUE(j.at("breakdown").at("language").empty());
  EXPECT_FALSE(format_table(r).empty());
}

TEST(ReportJson, WithoutCandidatesNearestCandidateIsNull) {
  const Report r = evaluate(hand_made(), {}, kMeta);
  const json j = report_json(r);
  EXPECT_EQ(j.at("metrics").at(kNearestCandidate).at("available"), false);
  EXPECT_EQ(j.at("metrics").at(kNearestCandidate).at("all").at("n"), 0);
  EXPECT_TRUE(j.at("metrics").at(kNearestCandidate).at("all").at("value").is_null());
  EXPECT_DOUBLE_EQ(j.at("overall").get<double>(), 3.0 / 9.0);  // the main metric is unaffected
  EXPECT_TRUE(prediction_json(r.predictions[0]).at("correct").at(kNearestCandidate).is_null());
}

TEST(ReportJson, AnswerTypeOtherThanClosedOrOpenIsAnError) {
  EXPECT_THROW(evaluate({make("x", "MAYBE", "a", "a", "", "")}, kCandidates, kMeta), Error);
}

TEST(Predictions, JsonlHasOneObjectPerQuestion) {
  testing::TempDir dir;
  const Report r = evaluate(hand_made(), kCandidates, kMeta);
  write_predictions(r, dir.file("predictions.jsonl"));
  std::istringstream lines(read_file(dir.file("predictions.jsonl")));
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 9u);

  const json& q1 = rows[0];
  EXPECT_EQ(q1.at("id"), "q1");
  EXPECT_EQ(q1.at("question"), "question q1");
  EXPECT_EQ(q1.at("reference"), "Yes");
  EXPECT_EQ(q1.at("prediction"), "yes.");
  EXPECT_EQ(q1.at("reference_normalized"), "yes");
  EXPECT_EQ(q1.at("prediction_normalized"), "yes");
  EXPECT_EQ(q1.at("answer_type"), "CLOSED");
  EXPECT_EQ(q1.at("question_type"), "PRES");
  EXPECT_EQ(q1.at("language"), "en");
  EXPECT_EQ(q1.at("correct").at(kExactMatch), true);
  EXPECT_EQ(q1.at("correct").at(kNearestCandidate), true);
  EXPECT_TRUE(q1.at(kOpenTokenRecall).is_null());
  EXPECT_EQ(q1.at(kNearestCandidate).at("answer"), "yes");
  EXPECT_EQ(q1.at(kNearestCandidate).at("ratio"), 1.0);
  EXPECT_EQ(q1.at("closed_probabilities").at("yes"), 0.875);
  EXPECT_EQ(q1.at("closed_probabilities").at("no"), 0.125);

  const json& q2 = rows[1];
  EXPECT_EQ(q2.at("answer_type"), "CLOSED");  // "CLOSED " written canonically
  EXPECT_FALSE(q2.contains("closed_probabilities"));

  const json& q4 = rows[3];
  EXPECT_EQ(q4.at("answer_type"), "OPEN");
  EXPECT_EQ(q4.at("correct").at(kExactMatch), false);
  EXPECT_EQ(q4.at(kOpenTokenRecall), 1.0);
  EXPECT_EQ(q4.at(kNearestCandidate).at("answer"), "left lung");
  EXPECT_EQ(q4.at(kNearestCandidate).at("ratio"), 0.8181818181818182);
  EXPECT_EQ(q4.at("correct").at(kNearestCandidate), true);

  const json& q5 = rows[4];  // empty prediction
  EXPECT_EQ(q5.at("prediction"), "");
  EXPECT_EQ(q5.at(kOpenTokenRecall), 0.0);
  EXPECT_TRUE(q5.at(kNearestCandidate).at("answer").is_null());
  EXPECT_EQ(q5.at("correct").at(kNearestCandidate), false);

  const json& q7 = rows[6];  // Chinese round-trips as UTF-8
  EXPECT_EQ(q7.at("reference"), "肺");
  EXPECT_EQ(q7.at("language"), "zh");
  EXPECT_EQ(q7.at("correct").at(kExactMatch), true);
  EXPECT_NE(read_file(dir.file("predictions.jsonl")).find("\"肺\""), std::string::npos);  // not \u-escaped
}

TEST(Predictions, InvalidUtf8FromTheModelStillWrites) {
  testing::TempDir dir;
  const Report r = evaluate({make("x", "OPEN", "brain", "br\xff" "ain", "", "en")}, kCandidates, kMeta);
  write_predictions(r, dir.file("p.jsonl"));
  EXPECT_NO_THROW(json::parse(read_file(dir.file("p.jsonl"))));
}

TEST(Files, ReportIsWrittenAtomicallyAndParses) {
  testing::TempDir dir;
  const std::string path = dir.file("report.json");
  write_report(evaluate({make("a", "CLOSED", "yes", "no", "PRES", "en")}, kCandidates, kMeta), path);
  write_report(evaluate(hand_made(), kCandidates, kMeta), path);  // replaces the first
  const json j = json::parse(read_file(path));
  EXPECT_EQ(j.at("n"), 9);
  EXPECT_EQ(entries_in(dir.path()), 1u);  // no temporary left beside it
}

TEST(Files, UnwritableDirectoryIsAnErrorAndLeavesNothing) {
  testing::TempDir dir;
  const Report r = evaluate(hand_made(), kCandidates, kMeta);
  EXPECT_THROW(write_report(r, dir.file("no/such/dir/report.json")), Error);
  EXPECT_THROW(write_predictions(r, dir.file("no/such/dir/p.jsonl")), Error);
  EXPECT_EQ(entries_in(dir.path()), 0u);
}

TEST(Table, FixedWidthColumnsWithEveryMetricNamed) {
  const Report r = evaluate(hand_made(), kCandidates, kMeta);
  const std::string table = format_table(r);
  std::istringstream lines(table);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_GE(rows.size(), 12u);
  EXPECT_NE(rows[0].find("group"), std::string::npos);
  EXPECT_NE(rows[0].find("exact_match"), std::string::npos);
  EXPECT_NE(rows[0].find("open_token_recall"), std::string::npos);
  EXPECT_NE(rows[0].find("nearest_candidate"), std::string::npos);
  // all: EM 3/9 = 33.3%, TR 60.0%, NC 5/9 = 55.6%; closed: 25.0, -, 25.0; open: 40.0, 60.0, 80.0.
  auto row_starting = [&](const std::string& label) -> std::string {
    for (const auto& row : rows) {
      if (row.rfind(label + " ", 0) == 0) return row;
    }
    return "";
  };
  const std::string all = row_starting("all"), closed = row_starting("closed"), open = row_starting("open");
  EXPECT_NE(all.find("33.3"), std::string::npos) << all;
  EXPECT_NE(all.find("60.0"), std::string::npos) << all;
  EXPECT_NE(all.find("55.6"), std::string::npos) << all;
  EXPECT_NE(closed.find("25.0"), std::string::npos) << closed;
  EXPECT_NE(closed.find(" - "), std::string::npos) << closed;  // no token recall on closed questions
  EXPECT_NE(open.find("80.0"), std::string::npos) << open;
  // Every data row has the same width (labels are ASCII here; widths count code points).
  EXPECT_EQ(all.size(), rows[0].size());
  EXPECT_EQ(closed.size(), rows[0].size());
  EXPECT_EQ(open.size(), rows[0].size());
  EXPECT_NE(table.find("  ORGAN"), std::string::npos);
  EXPECT_NE(table.find("  zh"), std::string::npos);
  EXPECT_NE(table.find("  (none)"), std::string::npos);
}

TEST(Table, ChineseGroupNamesStayAligned) {
  // "器官" is 6 bytes and 4 terminal columns wide.
  const Report r = evaluate({make("a", "OPEN", "肺", "肺", "器官", "zh")}, kCandidates, kMeta);
  std::istringstream lines(format_table(r));
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  bool found = false;
  for (const auto& row : rows) {
    if (row.rfind("  器官", 0) != 0) continue;
    found = true;
    EXPECT_EQ(row.size(), rows[0].size() + 2) << row;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace medvqa::eval
