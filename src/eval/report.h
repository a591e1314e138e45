#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/calibration.h"
#include "eval/bootstrap.h"
#include "eval/metrics.h"

namespace medvqa::eval {

// A running mean. value() is nullopt when nothing was added: a metric over zero questions is
// reported as JSON null and "-" in the table, never as 0 and never as a division by zero.
struct Mean {
  size_t n = 0;
  double sum = 0.0;
  void add(double v) {
    ++n;
    sum += v;
  }
  std::optional<double> value() const;
};

// A metric over closed, open and all questions of a group.
struct ScopedMean {
  Mean closed, open, all;
  void add(bool is_closed, double v);
};

// Every metric over one group of questions.
struct GroupScores {
  size_t n = 0, n_closed = 0, n_open = 0;
  ScopedMean exact_match;
  Mean open_token_recall;        // open questions only, by definition
  ScopedMean nearest_candidate;  // all Means empty when there is no candidate set
  std::vector<double> exact_match_values;  // 1 or 0 per question, for the group's bootstrap interval
  void add(const ScoredPrediction& s);
  std::optional<Interval> exact_match_interval() const;  // percentile bootstrap, 95%
};

// Supplied by the caller, copied into the report as "meta".
struct ReportMeta {
  std::string dataset;
  std::string split_path;
  std::string model_path;
  std::string date;
  std::vector<std::string> languages;  // of the questions evaluated
  // Which questions of the split file were evaluated, when not all of them (a holdout slice, a
  // limit): a score over a subset must not pass for one over the whole split.
  std::string selection = "all";
  // What the model saw instead of each question's image, for the controls: "" (the real image),
  // "blank", "shuffled" or "none" (no image tokens; medvqa eval --image-control).
  std::string image_control;
  // How the answers were chosen: "generated" (free generation), or the candidates ranked
  // (medvqa eval --rank-closed, --rank-open), e.g. "closed: ranked; open: ranked over 219 training answers".
  std::string answering = "generated";
  // The model's calibration temperature, and the confidence below which answers were withheld
  // (0: none), for the confidence section.
  double temperature = 1.0;
  double min_confidence = 0;
  // Follow-up questions (medvqa eval --history-turns): each question was asked after up to this
  // many earlier questions about its image, with their reference answers (0: asked alone).
  size_t history_turns = 0;
};

struct Report {
  ReportMeta meta;
  size_t candidates = 0;  // size of the nearest_candidate answer set after normalization
  GroupScores total;
  // Breakdowns, keyed by the group's value; an empty value is the group "(none)".
  std::map<std::string, GroupScores> by_answer_type;    // "CLOSED", "OPEN"
  std::map<std::string, GroupScores> by_question_type;  // compound VQA-RAD types stay one group
  std::map<std::string, GroupScores> by_language;
  std::map<std::string, GroupScores> by_modality;  // "(none)" where the dataset does not say
  std::vector<ScoredPrediction> predictions;  // in input order
  // The question-only floor (eval/floors.h) when training questions were given.
  std::optional<ScopedMean> question_prior;
  // exact_match of the same questions answered under each control ("blank", "shuffled", "none":
  // medvqa eval --controls), the floors a model that uses the image must clear.
  std::map<std::string, ScopedMean> controls;
};

// Scores every prediction. `candidate_answers` is the nearest_candidate answer set (normally every
// answer of the training split, raw: it is normalized here); when it is empty, nearest_candidate is
// reported as unavailable (null). Throws medvqa::Error on an answer_type other than CLOSED/OPEN.
Report evaluate(const std::vector<Prediction>& predictions, const std::vector<std::string>& candidate_answers,
                const ReportMeta& meta);

// The report as JSON, keys in the order below:
//   n, n_closed, n_open, main_metric ("exact_match"),
//   overall, closed, open      exact_match as a fraction in [0, 1], null over zero questions,
//   interval_95                {overall, closed, open} -> [low, high]: percentile-bootstrap 95%
//                              intervals of those (null over zero questions),
//   question_prior             {overall, closed, open, description} (null without training questions),
//   controls                   control name -> {overall, closed, open} (empty without controls),
//   confidence                 null unless the predictions carry confidences; else {temperature,
//                              ece (10 bins), ece_at_temperature_1 (when the answers carry their
//                              temperature curves), bins [{low, high, n, mean_confidence,
//                              accuracy}], min_confidence, answered, coverage, answered_exact_match},
//   metrics                    {exact_match, open_token_recall, nearest_candidate}, each with a
//                              description and {closed, open, all} -> {n, correct?, value}
//                              (open_token_recall: open only),
//   breakdown                  {answer_type, question_type, language, modality} -> group -> {n,
//                              n_closed, n_open, exact_match, exact_match_interval_95 ([low, high]),
//                              open_token_recall, nearest_candidate},
//   meta                       {dataset, split_path, model_path, date, languages, selection,
//                              image_control}.
nlohmann::ordered_json report_json(const Report& report);

// One JSON object per question: id, question, reference, prediction, reference_normalized,
// prediction_normalized, answer_type, question_type, language, modality, correct {exact_match,
// nearest_candidate}, open_token_recall (null for closed), nearest_candidate {answer, ratio} and
// closed_probabilities when the prediction has any; confidence, withheld and
// log_probability_by_temperature when the prediction has a confidence.
nlohmann::ordered_json prediction_json(const ScoredPrediction& s);

// A fixed-width table for stdout: group, n, exact_match, open_token_recall, nearest_candidate, as
// percentages; rows all/closed/open, then the question_type, language and (when the dataset says)
// modality breakdowns (the
// answer_type breakdown is the closed/open rows). Widths count East Asian wide characters as 2.
std::string format_table(const Report& report);

// The calibration samples of a report's predictions that have a confidence, at the model's
// temperature (what the confidence section bins), and the reliability diagram of those as a PNG.
std::vector<ConfidenceSample> confidence_samples(const Report& report);
void write_reliability_diagram(const Report& report, const std::string& path);

// Exact-match bootstrap intervals of "overall", "closed" and "open" questions (none over zero).
std::map<std::string, std::optional<Interval>> exact_match_intervals(const Report& report);
// A fraction as a percentage with one decimal, "-" for none: how the table and the page print them.
std::string percent(const std::optional<double>& v);
// `v` through printf's `format`.
std::string formatted(const char* format, double v);

// Whether the dataset said the images' modality (else every question is in the group "(none)").
bool modality_known(const Report& report);
// Exact match of the answers given (with a confidence, not withheld): what --min-confidence keeps.
Mean answered_exact_match(const Report& report);

// Write the JSON report / the JSONL predictions atomically (io::write_file_atomically).
void write_report(const Report& report, const std::string& path);
void write_predictions(const Report& report, const std::string& path);

}  // namespace medvqa::eval
