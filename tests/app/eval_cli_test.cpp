// `medvqa eval` end to end on real dataset rows with a tiny random model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "testing/testing.h"

namespace medvqa {
namespace {

using testing::medvqa;
using testing::Run;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

using testing::read_file;

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

void expect_fraction_or_null(const nlohmann::json& v, const char* what) {
  if (v.is_null()) return;
  ASSERT_TRUE(v.is_number()) << what;
  EXPECT_GE(v.get<double>(), 0.0) << what;
  EXPECT_LE(v.get<double>(), 1.0) << what;
}

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = tmp_.file("tiny");
    auto r = medvqa("create-model --config " + testing::source_dir() + "/configs/models/tiny.json --tokenizer " +
                    testing::golden_root() + "/tokenizer/bpe_small/tokenizer.json --out " + model_);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  std::string data(const std::string& path) const { return testing::data_root() + "/" + path; }

  testing::TempDir tmp_;
  std::string model_;
};

TEST_F(EvalCli, ScoresSlakeValidationRows) {
  const std::string out = tmp_.file("reports/slake.json");
  auto r = medvqa("eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                      " --train-answers " + data("slake/train.json") + " --limit 8 --batch-size 3 --out " + out,
                  /*stderr_too=*/false);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("group"), std::string::npos) << r.output;  // the table's header
  EXPECT_NE(r.output.find("closed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(out), std::string::npos) << r.output;

  const auto j = read_json(out);
  EXPECT_EQ(j.at("n"), 8);
  EXPECT_EQ(j.at("n_closed").get<int>() + j.at("n_open").get<int>(), 8);
  for (const char* key : {"overall", "closed", "open"}) expect_fraction_or_null(j.at(key), key);
  EXPECT_EQ(j.at("metrics").at("nearest_candidate").at("available"), true);
  EXPECT_GT(j.at("metrics").at("nearest_candidate").at("candidates").get<int>(), 100);
  const auto& meta = j.at("meta");
  EXPECT_EQ(meta.at("dataset"), "slake");
  EXPECT_EQ(meta.at("split_path"), data("slake/validate.json"));
  EXPECT_EQ(meta.at("model_path"), model_);
  EXPECT_EQ(meta.at("languages"), nlohmann::json::array({"en"}));
  EXPECT_EQ(meta.at("selection"), "first 8 questions");
  const std::string date = meta.at("date");
  EXPECT_EQ(date.size(), 20u) << date;  // 2024-05-01T12:00:00Z
  EXPECT_EQ(date.back(), 'Z') << date;

  EXPECT_EQ(count_lines(tmp_.file("reports/slake.predictions.jsonl")), 8u);
}

TEST_F(EvalCli, ReportsIntervalsTheQuestionPriorAndImageControls) {
  for (const std::string control : {"real", "blank", "shuffled"}) {
    const std::string out = tmp_.file(control + ".json");
    auto r = medvqa("eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                        " --train-answers " + data("slake/train.json") + " --limit 12 --image-control " + control +
                        " --out " + out,
                    /*stderr_too=*/false);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("question-only prior"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("95% bootstrap intervals"), std::string::npos) << r.output;
    const auto j = read_json(out);
    const auto& interval = j.at("interval_95").at("overall");
    ASSERT_TRUE(interval.is_array()) << j.dump();
    EXPECT_LE(interval[0].get<double>(), j.at("overall").get<double>());
    EXPECT_GE(interval[1].get<double>(), j.at("overall").get<double>());
    for (const char* key : {"overall", "closed", "open"}) expect_fraction_or_null(j.at("question_prior").at(key), key);
    if (control == "real")
      EXPECT_TRUE(j.at("meta").at("image_control").is_null());
    else
      EXPECT_EQ(j.at("meta").at("image_control"), control);
  }
  auto bad = medvqa("eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                    " --limit 2 --image-control noise");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("noise"), std::string::npos) << bad.output;
}

// --controls: the blank- and shuffled-image accuracies of one command equal the separate control
// runs, their predictions land beside the real ones (and in the --html page), and `eval compare`
// pairs real with blank.
TEST_F(EvalCli, ControlsInOneCommandEqualTheSeparateRunsAndCompareWithTheRealOnes) {
  const std::string common = "eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                             " --limit 12";
  const std::string out = tmp_.file("all/real.json");
  const std::string html = tmp_.file("all/real.html");
  auto r = medvqa(common + " --controls --out " + out + " --html " + html, /*stderr_too=*/false);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("control, a blank gray image for every question: all"), std::string::npos) << r.output;
  const std::string page = read_file(html);
  for (const char* part : {"blank gray images</text>", "shuffled images</text>", "no image tokens</text>",
                           "<h2>By modality</h2>", "reference \\ answer", "<svg class=\"reliability\""})
    EXPECT_NE(page.find(part), std::string::npos) << part;
  EXPECT_NE(r.output.find("control, no image tokens (the question alone) for every question: all"), std::string::npos)
      << r.output;
  const auto j = read_json(out);
  for (const std::string control : {"blank", "shuffled", "none"}) {
    const std::string separate = tmp_.file(control + "-alone.json");
    auto s = medvqa(common + " --image-control " + control + " --out " + separate, /*stderr_too=*/false);
    ASSERT_EQ(s.status, 0) << s.output;
    for (const char* key : {"overall", "closed", "open"})
      EXPECT_EQ(j.at("controls").at(control).at(key), read_json(separate).at(key)) << control << " " << key;
    EXPECT_EQ(count_lines(tmp_.file("all/real." + control + ".predictions.jsonl")), 12u);
  }
  EXPECT_TRUE(read_json(tmp_.file("blank-alone.json")).at("controls").empty());
  const std::string comparison = tmp_.file("real-vs-blank.json");
  auto c = medvqa("eval compare " + tmp_.file("all/real.predictions.jsonl") + " " +
                      tmp_.file("all/real.blank.predictions.jsonl") + " --out " + comparison,
                  /*stderr_too=*/false);
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_NE(c.output.find("McNemar p"), std::string::npos) << c.output;
  EXPECT_EQ(read_json(comparison).at("overall").at("n"), 12);
  auto both = medvqa(common + " --controls --image-control blank");
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.output.find("--controls"), std::string::npos) << both.output;
}

TEST_F(EvalCli, FollowUpsAskEachQuestionAfterTheEarlierOnesAboutItsImage) {
  auto run = [&](const std::string& name, const std::string& extra) {
    const std::string out = tmp_.file(name + ".json");
    auto r = medvqa("eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                        " --limit 12 --out " + out + " " + extra,
                    /*stderr_too=*/false);
    EXPECT_EQ(r.status, 0) << r.output;
    return std::make_pair(read_json(out), r.output);
  };
  const auto [alone, alone_text] = run("alone", "");
  const auto [followed, followed_text] = run("followed", "--history-turns 2");
  EXPECT_EQ(alone["meta"]["history_turns"], 0);
  EXPECT_EQ(followed["meta"]["history_turns"], 2);
  EXPECT_NE(followed_text.find("follow-ups: every question after up to 2 earlier questions"), std::string::npos);
  EXPECT_EQ(alone_text.find("follow-ups"), std::string::npos);
  // The first question has nothing before it; the later ones about the same image are asked after it.
  auto confidences = [&](const std::string& name) {
    std::vector<double> c;
    std::ifstream in(tmp_.file(name + ".predictions.jsonl"));
    for (std::string line; std::getline(in, line);) c.push_back(nlohmann::json::parse(line)["confidence"].get<double>());
    return c;
  };
  const auto a = confidences("alone"), f = confidences("followed");
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(f.size(), 12u);
  // A random model's confidences are tiny (1e-22 here): compare them relatively.
  auto differ = [](double x, double y) { return std::abs(x - y) > 1e-6 * std::max(std::abs(x), std::abs(y)); };
  EXPECT_FALSE(differ(a[0], f[0])) << a[0] << " " << f[0];
  size_t changed = 0;
  for (size_t i = 1; i < a.size(); ++i) changed += differ(a[i], f[i]);
  EXPECT_GT(changed, 0u);
}

TEST_F(EvalCli, ChineseSlakeRowsOnRequest) {
  const std::string out = tmp_.file("zh.json"), predictions = tmp_.file("zh-answers.jsonl");
  auto r = medvqa("eval --model " + model_ + " --dataset slake --questions " + data("slake/validate.json") +
                  " --lang zh --limit 3 --out " + out + " --predictions " + predictions);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = read_json(out);
  EXPECT_EQ(j.at("meta").at("languages"), nlohmann::json::array({"zh"}));
  EXPECT_EQ(j.at("metrics").at("nearest_candidate").at("available"), false);
  EXPECT_EQ(count_lines(predictions), 3u);
}

TEST_F(EvalCli, ScoresAVqaRadHoldoutSlice) {
  const std::string out = tmp_.file("rad.json");
  auto r = medvqa("eval --model " + model_ + " --dataset vqa-rad --questions " + data("vqa-rad/trainset.json") +
                  " --train-answers " + data("vqa-rad/trainset.json") +
                  " --holdout-fraction 0.1 --holdout-side val --limit 8 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = read_json(out);
  EXPECT_EQ(j.at("n"), 8);
  for (const char* key : {"overall", "closed", "open"}) expect_fraction_or_null(j.at(key), key);
  EXPECT_EQ(j.at("meta").at("selection"), "val side of a by-image holdout (fraction 0.1, seed 0); first 8 questions");
  EXPECT_EQ(count_lines(tmp_.file("rad.predictions.jsonl")), 8u);

  // The slice's own answers are not candidates: the training side alone is smaller than the file.
  const std::string whole = tmp_.file("whole.json");
  ASSERT_EQ(medvqa("eval --model " + model_ + " --dataset vqa-rad --questions " + data("vqa-rad/trainset.json") +
                   " --train-answers " + data("vqa-rad/trainset.json") + " --limit 1 --out " + whole)
                .status,
            0);
  EXPECT_LT(j.at("metrics").at("nearest_candidate").at("candidates").get<int>(),
            read_json(whole).at("metrics").at("nearest_candidate").at("candidates").get<int>());
}

// Confidence end to end: eval reports the calibration error and a reliability diagram, withholds
// answers below --min-confidence, `eval calibrate` fits a temperature on its predictions, and the
// model directory's calibration.json then sets every answer's confidence.
TEST_F(EvalCli, CalibratesConfidenceAndWithholdsUncertainAnswers) {
  const std::string common = "eval --dataset slake --questions " + data("slake/validate.json") + " --limit 24 ";
  const std::string out = tmp_.file("raw.json"), diagram = tmp_.file("raw.png");
  auto r = medvqa(common + "--model " + model_ + " --out " + out + " --reliability-diagram " + diagram +
                  " --min-confidence 0.5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("expected calibration error"), std::string::npos) << r.output;
  const auto report = read_json(out);
  const auto& c = report.at("confidence");
  EXPECT_EQ(c.at("temperature"), 1.0);
  EXPECT_EQ(c.at("bins").size(), 10u);
  EXPECT_EQ(c.at("min_confidence"), 0.5);
  expect_fraction_or_null(c.at("ece"), "ece");
  EXPECT_EQ(c.at("ece"), c.at("ece_at_temperature_1"));
  std::vector<nlohmann::json> lines;
  {
    std::ifstream in(tmp_.file("raw.predictions.jsonl"));
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(lines.size(), 24u);
  size_t answered = 0;
  for (const auto& l : lines) {
    EXPECT_EQ(l.at("withheld").get<bool>(), l.at("confidence").get<double>() < 0.5);
    EXPECT_EQ(l.at("log_probability_by_temperature").size(), 33u);
    answered += !l.at("withheld").get<bool>();
  }
  EXPECT_EQ(c.at("answered"), answered);
  std::ifstream png(diagram, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");

  auto fit = medvqa("eval calibrate " + tmp_.file("raw.predictions.jsonl") + " --out " + model_ + "/calibration.json");
  ASSERT_EQ(fit.status, 0) << fit.output;
  const auto calibration = read_json(model_ + "/calibration.json");
  const double t = calibration.at("temperature");
  EXPECT_LE(calibration.at("fit").at("nll_after").get<double>(), calibration.at("fit").at("nll_before").get<double>());
  EXPECT_EQ(calibration.at("fit").at("answers"), 24);

  // With calibration.json the confidence is the answer's probability at that temperature.
  auto again = medvqa(common + "--model " + model_ + " --predictions " + tmp_.file("calibrated.jsonl"));
  ASSERT_EQ(again.status, 0) << again.output;
  std::ifstream in(tmp_.file("calibrated.jsonl"));
  const auto& grid_line = lines.front().at("log_probability_by_temperature");
  size_t k = 0;
  for (size_t i = 0; i < grid_line.size(); ++i)  // the fitted temperature's place on the grid
    if (std::abs(std::log(t) - std::log(std::pow(4.0, (double(i) - 16) / 16))) < 1e-9) k = i;
  size_t i = 0;
  for (std::string line; std::getline(in, line); ++i) {
    auto l = nlohmann::json::parse(line);
    EXPECT_NEAR(std::log(l.at("confidence").get<double>()),
                lines[i].at("log_probability_by_temperature")[k].get<double>(), 1e-6);
  }
  EXPECT_EQ(i, 24u);

  auto bad = medvqa("eval calibrate " + out + " --out " + tmp_.file("c.json"));  // a report, not predictions
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_NE(bad.output.find(out + ":1"), std::string::npos) << bad.output;
}

TEST_F(EvalCli, BadInputGivesAClearErrorAndExitCode1) {
  const std::string common = "eval --model " + model_ + " --limit 2 ";
  auto dataset = medvqa(common + "--dataset vqa-rad-2 --questions " + data("vqa-rad/trainset.json"));
  EXPECT_EQ(dataset.status, 1) << dataset.output;
  EXPECT_NE(dataset.output.find("unknown VQA format \"vqa-rad-2\""), std::string::npos) << dataset.output;

  auto missing = medvqa(common + "--dataset slake --questions " + tmp_.file("no-such-split.json"));
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("no-such-split.json"), std::string::npos) << missing.output;

  auto images = medvqa(common + "--dataset slake --questions " + data("slake/validate.json") + " --images " +
                       tmp_.path());
  EXPECT_EQ(images.status, 1) << images.output;
  EXPECT_NE(images.output.find("image not found: " + tmp_.path()), std::string::npos) << images.output;
}

}  // namespace
}  // namespace medvqa
