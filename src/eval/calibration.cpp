#include "eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::eval {

const std::vector<double>& calibration_temperatures() {
  static const std::vector<double> grid = [] {
    std::vector<double> t;
    for (int k = -16; k <= 16; ++k) t.push_back(std::pow(4.0, k / 16.0));
    t[kUnitTemperature] = 1.0;  // exactly, not pow's rounding of 4^0
    return t;
  }();
  return grid;
}

Calibration Calibration::from_file(const std::string& path) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(io::read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(path + ": a calibration file is a JSON object");
  Calibration c;
  for (const auto& [key, value] : j.items()) {
    if (key == "temperature") {
      if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>()))
        throw Error(path + ": 'temperature' must be a positive number");
      c.temperature = value.get<double>();
    } else if (key == "fit" || key == "_comment") {
      if (key == "fit") c.fit = value;
    } else {
      throw Error(path + ": unknown key '" + key + "' (a calibration file has temperature, fit and _comment)");
    }
  }
  if (!j.contains("temperature")) throw Error(path + ": no 'temperature'");
  return c;
}

Calibration Calibration::for_model(const std::string& dir) {
  auto path = std::filesystem::path(dir) / "calibration.json";
  return std::filesystem::exists(path) ? from_file(path.string()) : Calibration{};
}

nlohmann::ordered_json Calibration::to_json() const {
  nlohmann::ordered_json j;
  j["_comment"] =
      "Temperature scaling of the answers' probabilities (medvqa eval calibrate): every step's logits are divided by "
      "the temperature before the answer's probability is taken. It does not change any answer.";
  j["temperature"] = temperature;
  if (!fit.is_null()) j["fit"] = fit;
  return j;
}

std::vector<ReliabilityBin> reliability_bins(const std::vector<ConfidenceSample>& samples, int bins) {
  if (bins < 1) throw Error("reliability_bins: need at least one bin");
  std::vector<ReliabilityBin> out(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    out[size_t(b)].low = double(b) / bins;
    out[size_t(b)].high = double(b + 1) / bins;
  }
  for (const auto& s : samples) {
    int b = std::clamp(int(std::floor(s.confidence * bins)), 0, bins - 1);
    auto& bin = out[size_t(b)];
    ++bin.n;
    bin.mean_confidence += s.confidence;
    bin.accuracy += s.correct ? 1.0 : 0.0;
  }
  for (auto& bin : out)
    if (bin.n > 0) {
      bin.mean_confidence /= double(bin.n);
      bin.accuracy /= double(bin.n);
    }
  return out;
}

double expected_calibration_error(const std::vector<ConfidenceSample>& samples, int bins) {
  if (samples.empty()) return 0;
  double ece = 0;
  for (const auto& bin : reliability_bins(samples, bins))
    ece += double(bin.n) / double(samples.size()) * std::abs(bin.accuracy - bin.mean_confidence);
  return ece;
}

double confidence_nll(const std::vector<ConfidenceSample>& samples) {
  if (samples.empty()) return 0;
  double sum = 0;
  for (const auto& s : samples) {
    double p = std::clamp(s.confidence, 1e-6, 1 - 1e-6);
    sum -= s.correct ? std::log(p) : std::log1p(-p);
  }
  return sum / double(samples.size());
}

std::vector<ConfidenceSample> at_temperature(const std::vector<TemperatureSample>& samples, size_t k) {
  std::vector<ConfidenceSample> out;
  for (const auto& s : samples) out.push_back({std::exp(s.log_probability.at(k)), s.correct});
  return out;
}

TemperatureFit fit_temperature(const std::vector<TemperatureSample>& samples) {
  const auto& grid = calibration_temperatures();
  if (samples.empty()) throw Error("calibration: no answers to fit a temperature on");
  for (const auto& s : samples)
    if (s.log_probability.size() != grid.size())
      throw Error("calibration: an answer has " + std::to_string(s.log_probability.size()) +
                  " log-probabilities, expected one at each of the " + std::to_string(grid.size()) + " temperatures");
  auto at = [&](size_t k) { return at_temperature(samples, k); };
  const size_t unit = kUnitTemperature;
  size_t best = unit;
  double best_nll = confidence_nll(at(unit));
  for (size_t k = 0; k < grid.size(); ++k) {
    double nll = confidence_nll(at(k));
    if (nll < best_nll) {
      best = k;
      best_nll = nll;
    }
  }
  TemperatureFit fit;
  fit.temperature = grid[best];
  fit.questions = samples.size();
  fit.nll_before = confidence_nll(at(unit));
  fit.nll_after = best_nll;
  fit.ece_before = expected_calibration_error(at(unit));
  fit.ece_after = expected_calibration_error(at(best));
  return fit;
}

std::vector<TemperatureSample> read_temperature_samples(const std::string& path, size_t* skipped) {
  std::istringstream lines(io::read_text_file(path));
  std::vector<TemperatureSample> out;
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ": invalid JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("correct") || !j["correct"].is_object() || !j["correct"].contains("exact_match") ||
        !j["correct"]["exact_match"].is_boolean())
      throw Error(where + ": not a prediction line of medvqa eval (no correct.exact_match)");
    auto curve = j.find("log_probability_by_temperature");
    if (curve == j.end()) {
      if (skipped) ++*skipped;
      continue;
    }
    TemperatureSample s;
    s.correct = j["correct"]["exact_match"].get<bool>();
    if (!curve->is_array()) throw Error(where + ": log_probability_by_temperature is not an array");
    for (const auto& v : *curve) {
      if (!v.is_number()) throw Error(where + ": log_probability_by_temperature holds a non-number");
      s.log_probability.push_back(v.get<double>());
    }
    if (s.log_probability.size() != calibration_temperatures().size())
      throw Error(where + ": log_probability_by_temperature has " + std::to_string(s.log_probability.size()) +
                  " values, expected " + std::to_string(calibration_temperatures().size()));
    out.push_back(std::move(s));
  }
  return out;
}

image::Image reliability_diagram(const std::vector<ReliabilityBin>& bins, int size) {
  if (bins.empty()) throw Error("reliability_diagram: no bins");
  const int margin = size / 10, plot = size - 2 * margin;
  image::Image img;
  img.width = img.height = size;
  img.channels = 3;
  img.pixels.assign(size_t(size) * size_t(size) * 3, 255);
  auto put = [&](int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    uint8_t* p = &img.pixels[(size_t(y) * size_t(size) + size_t(x)) * 3];
    p[0] = r, p[1] = g, p[2] = b;
  };
  // Plot coordinates: (0, 0) bottom left, (1, 1) top right.
  auto px = [&](double v) { return margin + int(std::lround(v * plot)); };
  auto py = [&](double v) { return size - margin - int(std::lround(v * plot)); };
  size_t most = 1;
  for (const auto& b : bins) most = std::max(most, b.n);
  for (const auto& b : bins) {
    if (b.n == 0) continue;
    // Bars shaded by how many answers the bin holds (light: few), so an empty-looking bin's
    // accuracy is not read as a measurement.
    double weight = 0.25 + 0.75 * double(b.n) / double(most);
    auto shade = [&](double full, double light) { return uint8_t(std::lround(light + (full - light) * weight)); };
    for (int x = px(b.low) + 1; x < px(b.high); ++x)
      for (int y = py(b.accuracy); y < py(0); ++y) put(x, y, shade(40, 225), shade(90, 232), shade(200, 245));
    // The bin's mean confidence: a short red tick at that height.
    for (int x = px(b.low) + 1; x < px(b.high); ++x)
      for (int d = -1; d <= 1; ++d) put(x, py(b.mean_confidence) + d, 200, 30, 30);
  }
  for (int i = 0; i <= plot; ++i) {
    double v = double(i) / plot;
    put(px(v), py(v), 120, 120, 120);  // the diagonal: confidence = accuracy
    put(px(v), py(0), 0, 0, 0);        // axes
    put(px(0), py(v), 0, 0, 0);
  }
  for (int k = 0; k <= 10; ++k)  // ticks every 0.1 on both axes
    for (int d = 1; d <= 4; ++d) {
      put(px(k / 10.0), py(0) + d, 0, 0, 0);
      put(px(0) - d, py(k / 10.0), 0, 0, 0);
    }
  return img;
}

}  // namespace medvqa::eval
