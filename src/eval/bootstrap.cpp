#include "eval/bootstrap.h"

#include <algorithm>
#include <random>

namespace medvqa::eval {

std::optional<Interval> bootstrap_interval(const std::vector<double>& values, int resamples, uint64_t seed) {
  if (values.empty()) return std::nullopt;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) sum += values[pick(rng)];
    m = sum / double(values.size());
  }
  std::sort(means.begin(), means.end());
  auto at = [&](double q) { return means[std::min(means.size() - 1, size_t(q * double(means.size())))]; };
  return Interval{at(0.025), at(0.975)};
}

}  // namespace medvqa::eval
