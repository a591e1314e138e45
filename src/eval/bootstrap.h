#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace medvqa::eval {

// A 95% percentile-bootstrap interval of a mean (`resamples` draws with replacement of as many
// values, fixed seed, so a report is reproducible).
struct Interval {
  double low = 0, high = 0;
};
std::optional<Interval> bootstrap_interval(const std::vector<double>& values, int resamples = 1000,
                                           uint64_t seed = 0);

}  // namespace medvqa::eval
