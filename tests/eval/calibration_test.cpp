// Confidence calibration: reliability bins, the expected calibration error, the temperature fit
// (which must find the temperature that generated synthetic answers), calibration.json and the
// reliability diagram.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <random>

#include "eval/calibration.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::eval {
namespace {

TEST(Calibration, TemperatureGridHoldsOneAndIsIncreasing) {
  const auto& t = calibration_temperatures();
  ASSERT_EQ(t.size(), 33u);
  EXPECT_EQ(t[kUnitTemperature], 1.0);
  EXPECT_NEAR(t.front(), 0.25, 1e-12);
  EXPECT_NEAR(t.back(), 4.0, 1e-12);
  for (size_t k = 1; k < t.size(); ++k) EXPECT_GT(t[k], t[k - 1]);
}

TEST(Calibration, BinsAndExpectedCalibrationError) {
  // Bin [0.9, 1]: two answers at 0.95, one right (accuracy 0.5, gap 0.45); bin [0.2, 0.3): two at
  // 0.25, both wrong (gap 0.25); confidence 1 falls in the last bin.
  std::vector<ConfidenceSample> s = {{0.95, true}, {0.95, false}, {0.25, false}, {0.25, false}, {1.0, true}};
  auto bins = reliability_bins(s);
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[9].n, 3u);
  EXPECT_NEAR(bins[9].mean_confidence, (0.95 + 0.95 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(bins[9].accuracy, 2.0 / 3, 1e-12);
  EXPECT_EQ(bins[2].n, 2u);
  EXPECT_EQ(bins[2].accuracy, 0.0);
  EXPECT_EQ(bins[0].n, 0u);
  const double expected = 3.0 / 5 * std::abs(2.0 / 3 - 2.9 / 3) + 2.0 / 5 * 0.25;
  EXPECT_NEAR(expected_calibration_error(s), expected, 1e-12);
  EXPECT_EQ(expected_calibration_error({}), 0.0);
  // Right as often as it says: no calibration error.
  EXPECT_NEAR(expected_calibration_error({{0.5, true}, {0.5, false}, {1.0, true}}), 0.0, 1e-12);
}

// Answers whose correctness is drawn with probability p_true = sigmoid(z / T_true) while the model
// reports sigmoid(z) (overconfident for T_true > 1): the fit must find T_true.
std::vector<TemperatureSample> synthetic_answers(double true_temperature, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> logit(1.5, 2.0);
  std::uniform_real_distribution<double> u(0, 1);
  auto log_sigmoid = [](double x) { return -std::log1p(std::exp(-x)); };
  std::vector<TemperatureSample> out;
  for (size_t i = 0; i < n; ++i) {
    const double z = logit(rng);
    TemperatureSample s;
    s.correct = u(rng) < std::exp(log_sigmoid(z / true_temperature));
    for (double t : calibration_temperatures()) s.log_probability.push_back(log_sigmoid(z / t));
    out.push_back(std::move(s));
  }
  return out;
}

TEST(Calibration, FitFindsTheTemperatureThatMadeTheAnswers) {
  for (double truth : {0.5, 1.0, 2.0}) {
    SCOPED_TRACE(truth);
    auto fit = fit_temperature(synthetic_answers(truth, 20000, 7));
    EXPECT_NEAR(std::log(fit.temperature), std::log(truth), std::log(4.0) / 16 * 1.01);  // within one grid step
    EXPECT_LE(fit.nll_after, fit.nll_before);
    EXPECT_EQ(fit.questions, 20000u);
    if (truth != 1.0) {
      EXPECT_LT(fit.ece_after, fit.ece_before / 2);
    }
  }
  EXPECT_THROW(fit_temperature({}), Error);
  EXPECT_THROW(fit_temperature({TemperatureSample{{0.0, -1.0}, true}}), Error);
}

TEST(Calibration, FileRoundTripsAndRejectsWhatItDoesNotKnow) {
  testing::TempDir tmp;
  Calibration c;
  c.temperature = 1.6;
  c.fit = {{"answers", 12}};
  {
    std::ofstream(tmp.file("calibration.json")) << c.to_json().dump(2);
  }
  auto back = Calibration::for_model(tmp.path());
  EXPECT_EQ(back.temperature, 1.6);
  EXPECT_EQ(back.fit["answers"], 12);
  EXPECT_EQ(Calibration::for_model(tmp.file("elsewhere")).temperature, 1.0);  // no file: the raw probabilities

  auto rejects = [&](const std::string& text, const std::string& message) {
    std::ofstream(tmp.file("bad.json")) << text;
    try {
      Calibration::from_file(tmp.file("bad.json"));
      ADD_FAILURE() << "accepted " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  };
  rejects(R"({"temprature": 1.2})", "unknown key 'temprature'");
  rejects(R"({"temperature": 0})", "positive");
  rejects(R"({"temperature": "1"})", "positive");
  rejects(R"({"fit": {}})", "no 'temperature'");
  rejects(R"({"temperature": 1.2)", "invalid JSON");
}

TEST(Calibration, ReadsPredictionFilesAndNamesBadLines) {
  testing::TempDir tmp;
  std::vector<double> curve(calibration_temperatures().size(), -0.5);
  nlohmann::json line = {{"id", "1"}, {"correct", {{"exact_match", true}}}, {"log_probability_by_temperature", curve}};
  nlohmann::json ranked = {{"id", "2"}, {"correct", {{"exact_match", false}}}};
  {
    std::ofstream f(tmp.file("p.jsonl"));
    f << line.dump() << "\n" << ranked.dump() << "\n\n";
  }
  size_t skipped = 0;
  auto samples = read_temperature_samples(tmp.file("p.jsonl"), &skipped);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_TRUE(samples[0].correct);
  EXPECT_EQ(samples[0].log_probability, curve);
  EXPECT_EQ(skipped, 1u);

  {
    std::ofstream f(tmp.file("bad.jsonl"));
    f << line.dump() << "\n{\"id\": \"3\", \"correct\": {\"exact_match\": true}, \"log_probability_by_temperature\": [1]}\n";
  }
  try {
    read_temperature_samples(tmp.file("bad.jsonl"));
    ADD_FAILURE() << "accepted a short curve";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

TEST(Calibration, ReliabilityDiagramDrawsEachBinToItsAccuracy) {
  std::vector<ConfidenceSample> s;
  for (int i = 0; i < 10; ++i) s.push_back({0.95, true});   // bin 9: accuracy 1
  for (int i = 0; i < 10; ++i) s.push_back({0.55, i < 5});  // bin 5: accuracy 0.5
  const int size = 320, margin = size / 10, plot = size - 2 * margin;
  auto img = reliability_diagram(reliability_bins(s), size);
  ASSERT_EQ(img.width, size);
  ASSERT_EQ(img.channels, 3);
  auto pixel = [&](double x, double y) {  // plot coordinates
    int px = margin + int(std::lround(x * plot)), py = size - margin - int(std::lround(y * plot));
    const uint8_t* p = &img.pixels[(size_t(py) * size + size_t(px)) * 3];
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  auto blue = [](std::array<int, 3> p) { return p[2] > p[0] + 20 && p[2] > 150; };
  auto white = [](std::array<int, 3> p) { return p[0] == 255 && p[1] == 255 && p[2] == 255; };
  EXPECT_TRUE(blue(pixel(0.93, 0.8)));    // bin 9's bar reaches 1
  EXPECT_TRUE(blue(pixel(0.53, 0.3)));    // bin 5's reaches 0.5 ...
  EXPECT_TRUE(white(pixel(0.53, 0.75)));  // ... and no higher
  EXPECT_TRUE(white(pixel(0.23, 0.1)));   // an empty bin has no bar
  EXPECT_THROW(reliability_diagram({}), Error);
}

}  // namespace
}  // namespace medvqa::eval
