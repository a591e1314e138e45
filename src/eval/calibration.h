#pragma once
// How far an answer's probability can be trusted: temperature scaling (Guo et al. 2017) adapted
// to generated answers, the expected calibration error and the reliability diagram.
//
// An answer's confidence is the probability of the generated sequence (its tokens and the token
// that ended it) with every step's logits divided by a temperature T. T is fitted on validation
// answers to minimise the binary cross-entropy between that confidence and whether the answer was
// right, so that a confidence of 0.8 comes to mean "right 80% of the time" on data like the
// validation sets. One number, stored with the model (calibration.json); it never changes the
// answer, only its probability.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "image/image.h"

namespace medvqa::eval {

// The temperatures at which evaluation keeps each answer's log-probability, so that `medvqa
// calibrate` can fit T from prediction files alone: 33 values log-spaced from 1/4 to 4, 1 among them.
const std::vector<double>& calibration_temperatures();
// The place of temperature 1 (the raw probabilities) in that grid.
constexpr size_t kUnitTemperature = 16;

// The model directory's calibration.json. A model without one has temperature 1 (its raw
// probabilities).
struct Calibration {
  double temperature = 1.0;
  nlohmann::ordered_json fit;  // what the fit measured (fitted_on, questions, ece_before, ...), kept as written

  // Reads `path`; a missing temperature, a non-positive one or an unknown key is an error naming the file.
  static Calibration from_file(const std::string& path);
  // `dir`/calibration.json, or the default when there is none.
  static Calibration for_model(const std::string& dir);
  nlohmann::ordered_json to_json() const;
};

// One answer as calibration sees it.
struct ConfidenceSample {
  double confidence = 0;  // in [0, 1]
  bool correct = false;
};

struct ReliabilityBin {
  double low = 0, high = 0;  // confidence range [low, high) ([low, 1] for the last bin)
  size_t n = 0;
  double mean_confidence = 0, accuracy = 0;  // 0 when n == 0
};

// Equal-width confidence bins (10 by default, as in the reliability diagrams of the literature).
std::vector<ReliabilityBin> reliability_bins(const std::vector<ConfidenceSample>& samples, int bins = 10);
// Σ_b n_b/N · |accuracy_b − mean confidence_b| over those bins; 0 for no samples.
double expected_calibration_error(const std::vector<ConfidenceSample>& samples, int bins = 10);
// Mean binary cross-entropy of confidence against correctness (confidences clamped to [1e-6, 1-1e-6]).
double confidence_nll(const std::vector<ConfidenceSample>& samples);

// One answer for fitting: its log-probability at each of calibration_temperatures(), and whether
// it was right.
struct TemperatureSample {
  std::vector<double> log_probability;
  bool correct = false;
};

struct TemperatureFit {
  double temperature = 1.0;
  size_t questions = 0;
  double nll_before = 0, nll_after = 0;  // confidence_nll at T = 1 and at the fitted T
  double ece_before = 0, ece_after = 0;
};

// The temperature of calibration_temperatures() with the lowest confidence_nll. Throws when there
// are no samples or a sample has the wrong number of values.
TemperatureFit fit_temperature(const std::vector<TemperatureSample>& samples);
// The samples' confidences at grid temperature `k` (calibration_temperatures()[k]).
std::vector<ConfidenceSample> at_temperature(const std::vector<TemperatureSample>& samples, size_t k);

// The answers of `medvqa eval` prediction files (JSONL) that carry their temperature curve, with
// their exact-match correctness; `skipped` counts the others (ranked answers, older files). A
// malformed line is an error naming the file and line.
std::vector<TemperatureSample> read_temperature_samples(const std::string& predictions_path, size_t* skipped = nullptr);

// The reliability diagram as an RGB image: for each bin a bar up to its accuracy (darker the more
// answers it holds), the diagonal of perfect calibration, and a mark at each bin's mean confidence.
image::Image reliability_diagram(const std::vector<ReliabilityBin>& bins, int size = 320);

}  // namespace medvqa::eval
