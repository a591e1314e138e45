#include "eval/html_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "make_prediction.h"
#include "testing/testing.h"

namespace medvqa::eval {
namespace {

namespace fs = std::filesystem;

Prediction make(const std::string& id, const std::string& type, const std::string& answer,
                const std::string& prediction, const std::string& question_type, const std::string& modality) {
  return make_prediction(id, type, answer, prediction, question_type, "en", modality);
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// Closed: yes/yes, yes/no, no/no, no/no, no/yes; open: liver/liver, lung/heart. Modality: CT ×4, MRI ×3.
std::vector<Prediction> predictions() {
  return {make("1", "CLOSED", "yes", "yes", "Abnormality", "CT"), make("2", "CLOSED", "yes", "no", "Abnormality", "CT"),
          make("3", "CLOSED", "No", "no.", "Abnormality", "CT"),  make("4", "CLOSED", "no", "no", "Plane", "MRI"),
          make("5", "CLOSED", "no", "yes", "Plane", "MRI"),       make("6", "OPEN", "liver", "liver", "Organ", "MRI"),
          make("7", "OPEN", "lung", "heart", "Organ", "CT")};
}

ReportMeta meta() {
  ReportMeta m;
  m.dataset = "slake";
  m.split_path = "validate.json";
  m.model_path = "models/medvqa-small";
  m.date = "2026-12-03T00:00:00Z";
  return m;
}

TEST(HtmlReport, ShowsTheFiguresOfTheReport) {
  Report r = evaluate(predictions(), {}, meta());
  r.question_prior = ScopedMean{};
  for (double v : {1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0}) r.question_prior->add(true, v);  // 2/7 = 28.6%
  r.controls["blank"].all.add(1.0);
  r.controls["blank"].all.add(0.0);  // 50.0%
  const std::string html = html_report(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("not validated for clinical use"), std::string::npos);
  // Overall 4/7 = 57.1%, closed 3/5 = 60.0%, open 1/2 = 50.0%, each with its interval.
  EXPECT_NE(html.find("<th>overall</th><td>7</td><td>57.1</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>closed</th><td>5</td><td>60.0</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>open</th><td>2</td><td>50.0</td>"), std::string::npos);
  EXPECT_NE(html.find("question-only prior</text>"), std::string::npos);
  EXPECT_NE(html.find(">28.6"), std::string::npos);
  EXPECT_NE(html.find("blank gray images</text>"), std::string::npos);
  // Per type and per modality, with n: Abnormality 2/3, Plane 1/2, Organ 1/2; CT 2/4, MRI 2/3.
  EXPECT_NE(html.find(">66.7 ("), std::string::npos);
  EXPECT_NE(html.find("n 3</text>"), std::string::npos);
  EXPECT_NE(html.find("<h2>By modality</h2>"), std::string::npos);
  EXPECT_NE(html.find("MRI</text>"), std::string::npos);
  // The confusion table of the closed questions, normalized: yes→yes 1, yes→no 1, no→no 2, no→yes 1.
  EXPECT_NE(html.find("<tr><th>no</th><td class=\"right\">2</td><td>1</td><td>0</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>yes</th><td>1</td><td class=\"right\">1</td><td>0</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("No answer carries a confidence"), std::string::npos);
}

TEST(HtmlReport, LeavesOutModalityWhenTheDatasetDoesNotSayIt) {
  auto v = predictions();
  for (auto& p : v) p.modality.clear();
  const std::string html = html_report(evaluate(v, {}, meta()));
  EXPECT_EQ(html.find("By modality"), std::string::npos);
  EXPECT_NE(html.find("No controls were run"), std::string::npos);
  EXPECT_NE(html.find("no prior"), std::string::npos);
}

TEST(HtmlReport, DrawsTheReliabilityDiagramFromTheConfidences) {
  auto v = predictions();
  const double confidences[] = {0.95, 0.92, 0.65, 0.61, 0.15, 0.97, 0.35};
  for (size_t i = 0; i < v.size(); ++i) v[i].confidence = confidences[i];
  v[4].withheld = true;
  auto m = meta();
  m.min_confidence = 0.2;
  const std::string html = html_report(evaluate(v, {}, m));
  EXPECT_NE(html.find("<svg class=\"reliability\""), std::string::npos);
  // Four non-empty bins (0.1, 0.3, 0.6 ×2, 0.9 ×3), each drawn as one bar with its answer count.
  EXPECT_EQ(count(html, "</title></rect>"), 4u);
  EXPECT_NE(html.find(": 3 answers, accuracy 66.7%"), std::string::npos);
  EXPECT_NE(html.find("6 answered (coverage 85.7%), exact match of those 66.7%"), std::string::npos);
}

TEST(HtmlReport, EscapesTextFromTheData) {
  auto v = predictions();
  v[0].question_type = "<script>alert(1)</script>";
  v[1].answer = "a & <b>";
  v[1].prediction = "\"><img src=x onerror=alert(1)>";
  auto m = meta();
  m.dataset = "<i>set</i>";
  const std::string html = html_report(evaluate(v, {}, m));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST(HtmlReport, LoadsNothingFromElsewhere) {
  const std::string html = html_report(evaluate(predictions(), {}, meta()));
  // No src, href, @import or url(): the only URI on the page is SVG's namespace.
  for (const std::regex& fetch : {std::regex("\\ssrc\\s*="), std::regex("\\shref\\s*="), std::regex("@import"),
                                 std::regex("url\\(")})
    EXPECT_FALSE(std::regex_search(html, fetch));
}

TEST(HtmlReport, IsWrittenAtomically) {
  testing::TempDir dir;
  const std::string path = (fs::path(dir.path()) / "report.html").string();
  write_html_report(evaluate(predictions(), {}, meta()), path);
  EXPECT_NE(testing::read_file(path).find("</html>"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ReportBreakdown, ByModalityWithIntervals) {
  const Report r = evaluate(predictions(), {}, meta());
  ASSERT_EQ(r.by_modality.size(), 2u);
  EXPECT_EQ(r.by_modality.at("CT").n, 4u);
  EXPECT_DOUBLE_EQ(*r.by_modality.at("MRI").exact_match.all.value(), 2.0 / 3.0);
  const auto j = report_json(r);
  const auto& ct = j.at("breakdown").at("modality").at("CT");
  ASSERT_TRUE(ct.at("exact_match_interval_95").is_array());
  EXPECT_LE(ct.at("exact_match_interval_95")[0].get<double>(), 0.5);
  EXPECT_GE(ct.at("exact_match_interval_95")[1].get<double>(), 0.5);
  EXPECT_NE(format_table(r).find("by modality"), std::string::npos);
}

}  // namespace
}  // namespace medvqa::eval
