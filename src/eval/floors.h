#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/metrics.h"
#include "eval/report.h"

namespace medvqa::eval {

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
