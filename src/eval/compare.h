#pragma once
// Paired comparison of two evaluations over the same questions (`medvqa eval compare A B`): the
// questions are the same, so the per-question differences carry the signal, not two separate
// intervals. McNemar's exact test on the questions where exactly one of the two is right, and the
// accuracy difference with a paired-bootstrap 95% interval.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/floors.h"

namespace medvqa::eval {

struct PairedComparison {
  size_t n = 0;
  size_t both_right = 0, only_a = 0, only_b = 0, both_wrong = 0;
  double accuracy_a = 0, accuracy_b = 0;
  double difference = 0;                      // accuracy_b - accuracy_a
  std::optional<Interval> difference_95;      // paired bootstrap over questions
  double mcnemar_p = 1;                       // exact two-sided: binomial(only_a + only_b, 1/2)
};

// a[i], b[i]: whether each evaluation answered question i right.
PairedComparison compare_paired(const std::vector<bool>& a, const std::vector<bool>& b, uint64_t seed = 0);

// The exact two-sided McNemar p-value for discordant counts b and c: 2 · P(X ≤ min(b, c)) with
// X ~ Binomial(b + c, 1/2), at most 1.
double mcnemar_exact_p(size_t b, size_t c);

// One question of a predictions file (`medvqa eval --predictions`, one JSON object per line).
struct PredictionRecord {
  std::string key;  // id, with the language where the file has it (SLAKE ids repeat across languages)
  std::string question;
  bool closed = false;
  bool correct = false;  // exact match
};
// Reads a predictions file; a malformed line is an error naming the file and the line, as is a
// question that appears twice.
std::vector<PredictionRecord> read_prediction_records(const std::string& path);

struct FileComparison {
  std::string path_a, path_b;
  PairedComparison overall, closed, open;
};
// Pairs the two files' questions by key. They must hold the same questions (same keys, same
// question text): otherwise an error names the first question that differs.
FileComparison compare_prediction_files(const std::string& path_a, const std::string& path_b);

nlohmann::json to_json(const FileComparison& c);
std::string format_comparison(const FileComparison& c);

}  // namespace medvqa::eval
