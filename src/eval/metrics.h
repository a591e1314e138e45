#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "eval/difflib.h"

namespace medvqa::eval {

// One answered question, as evaluation sees it. Independent of the dataset readers: the caller
// copies the fields from whatever example type it has.
struct Prediction {
  std::string id;
  std::string question;
  std::string answer;         // the reference answer
  std::string prediction;     // the model's answer
  std::string answer_type;    // "CLOSED" or "OPEN" (case and surrounding spaces are ignored)
  std::string question_type;  // content type (VQA-RAD question_type, SLAKE content_type, VQA-Med category)
  std::string language;       // "en", "zh", ...
  std::string modality;       // of the image, where the dataset says (SLAKE: CT, MRI, X-Ray); else empty
  std::map<std::string, double> closed_probabilities;  // optional: candidate answer -> probability
  // Optional: how likely the model found its answer (infer::Answer::confidence) and, for fitting a
  // temperature, the answer's log-probability at each of calibration_temperatures().
  std::optional<double> confidence;
  std::vector<double> log_probability_by_temperature;
  // The answer was withheld (its confidence below the minimum asked for): `prediction` is still
  // the model's answer, scored as usual; the report counts coverage and accuracy without these.
  bool withheld = false;
};

// The metric names, exactly as they label the JSON, the JSONL and the table.
inline constexpr const char* kExactMatch = "exact_match";
inline constexpr const char* kOpenTokenRecall = "open_token_recall";
inline constexpr const char* kNearestCandidate = "nearest_candidate";

// "CLOSED"/"OPEN" from a raw answer_type (trimmed, case-insensitive, so VQA-RAD's "CLOSED " works);
// anything else throws medvqa::Error naming the question id and the value.
bool is_closed_answer_type(const std::string& answer_type, const std::string& id);

// Whitespace-separated tokens of an already normalized answer.
std::vector<std::string> answer_tokens(const std::string& normalized);

// open_token_recall for one question (LLaVA-Med style recall): the fraction of the reference's
// tokens (with repeats) that occur among the prediction's tokens. Both arguments are normalized
// answers. An empty reference scores 1 if the prediction is empty too, else 0.
// Unlike LLaVA-Med's script, a token repeated in the prediction does not count more than once, so
// the value is always in [0, 1]. Chinese answers have no spaces: they are one token each.
double token_recall(const std::string& reference_normalized, const std::string& prediction_normalized);

// The candidate answer set of the nearest_candidate metric (MedVInT style): usually every answer of
// the training split. Answers are normalized; empty and duplicate ones are dropped, and the first
// occurrence keeps its place, since on ties the earlier candidate wins.
class CandidateSet {
 public:
  CandidateSet() = default;
  explicit CandidateSet(const std::vector<std::string>& answers);

  struct Match {
    std::optional<std::string> candidate;  // none when no candidate shares a single character
    double ratio = 0.0;                    // difflib ratio of the chosen candidate (0 when none)
  };
  // MedVInT's find_most_similar_index: the candidate c with the highest
  // difflib.SequenceMatcher(None, c, prediction).ratio(), the first one on ties, and none unless
  // some ratio is > 0. `prediction_normalized` must be normalized, like the candidates.
  Match nearest(const std::string& prediction_normalized) const;

  size_t size() const { return answers_.size(); }
  bool empty() const { return answers_.empty(); }
  const std::vector<std::string>& answers() const { return answers_; }

 private:
  std::vector<std::string> answers_;
  std::vector<std::u32string> code_points_;
};

// A prediction with its normalized forms and its score under every metric.
struct ScoredPrediction {
  Prediction input;
  std::string reference_normalized;
  std::string prediction_normalized;
  bool closed = false;
  bool exact_match = false;
  std::optional<double> token_recall;       // open questions only
  std::optional<std::string> nearest;       // nearest_candidate's choice, if any
  double nearest_ratio = 0.0;
  bool nearest_correct = false;             // chosen candidate == normalized reference
  bool nearest_available = false;           // false when the candidate set is empty
};

// Memo of CandidateSet::nearest by normalized prediction: answers repeat ("yes", "no") and the
// search is the costly part of scoring.
using NearestCache = std::unordered_map<std::string, CandidateSet::Match>;

// Scores one prediction. Normalization is data::normalize_answer (the project's only normalizer).
ScoredPrediction score(const Prediction& p, const CandidateSet& candidates, NearestCache* cache = nullptr);

}  // namespace medvqa::eval
