#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/report.h"

namespace medvqa::eval {

// A 95% percentile-bootstrap interval of a mean (`resamples` draws with replacement of as many
// values, fixed seed, so a report is reproducible).
struct Interval {
  double low = 0, high = 0;
};
std::optional<Interval> bootstrap_interval(const std::vector<double>& values, int resamples = 1000,
                                           uint64_t seed = 0);

// A training question, for the question-only floor.
struct TrainingQuestion {
  std::string question, answer, answer_type;
};

// The question-only lookup prior: each evaluated question answered with the most frequent
// training answer to the same question text (case, whitespace and trailing punctuation ignored;
// ties to the answer seen first), or, for a question never asked in training, the most frequent
// training answer of its answer type (closed / open). Scored by normalized exact match. A model
// that does not clear this does not use the image.
ScopedMean question_prior_exact_match(const std::vector<TrainingQuestion>& training,
                                      const std::vector<Prediction>& predictions);

}  // namespace medvqa::eval
