#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/floors.h"
#include "io/error.h"
#include "io/atomic_file.h"
#include "io/json_text.h"

namespace medvqa::eval {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kNoGroup = "(none)";

const char* kExactMatchDescription =
    "normalized exact match: data::normalize_answer(prediction) == data::normalize_answer(reference); "
    "the main metric";
const char* kTokenRecallDescription =
    "LLaVA-Med style recall, open questions only: the fraction of the normalized reference's "
    "whitespace tokens found among the prediction's tokens, averaged over open questions";
const char* kNearestDescription =
    "MedVInT style: the normalized prediction is mapped to the candidate answer (the training answer set) "
    "with the highest difflib SequenceMatcher(None, candidate, prediction).ratio() (the first on ties, "
    "none when every ratio is 0), which must then equal the normalized reference";

std::string group_key(const std::string& v) { return v.empty() ? kNoGroup : v; }

json value_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json count_json(const Mean& m) {
  return {{"n", m.n}, {"correct", static_cast<size_t>(std::llround(m.sum))}, {"value", value_json(m.value())}};
}

json scoped_json(const ScopedMean& s) {
  return {{"closed", count_json(s.closed)}, {"open", count_json(s.open)}, {"all", count_json(s.all)}};
}

json interval_json(const std::optional<Interval>& v) { return v ? json::array({v->low, v->high}) : json(nullptr); }

json recall_json(const Mean& m) { return {{"open", {{"n", m.n}, {"value", value_json(m.value())}}}}; }

json group_json(const GroupScores& g) {
  return {{"n", g.n},
          {"n_closed", g.n_closed},
          {"n_open", g.n_open},
          {kExactMatch, scoped_json(g.exact_match)},
          {"exact_match_interval_95", interval_json(g.exact_match_interval())},
          {kOpenTokenRecall, recall_json(g.open_token_recall)},
          {kNearestCandidate, scoped_json(g.nearest_candidate)}};
}

json groups_json(const std::map<std::string, GroupScores>& groups) {
  json out = json::object();
  for (const auto& [k, g] : groups) out[k] = group_json(g);
  return out;
}

// Terminal columns of a code point: 2 for East Asian wide and full-width characters (CJK, Hangul,
// full-width forms), else 1. Enough to keep Chinese group names aligned.
size_t columns(char32_t c) {
  const bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
                    (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
                    (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
  return wide ? 2 : 1;
}

size_t display_width(const std::string& s) {
  size_t w = 0;
  for (char32_t c : utf8_to_code_points(s)) w += columns(c);
  return w;
}

std::string pad_right(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string pad_left(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

}  // namespace

std::string formatted(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string percent(const std::optional<double>& v) { return v ? formatted("%.1f", *v * 100.0) : "-"; }

std::optional<double> Mean::value() const {
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

void ScopedMean::add(bool is_closed, double v) {
  (is_closed ? closed : open).add(v);
  all.add(v);
}

void GroupScores::add(const ScoredPrediction& s) {
  ++n;
  ++(s.closed ? n_closed : n_open);
  exact_match.add(s.closed, s.exact_match ? 1.0 : 0.0);
  if (s.token_recall) open_token_recall.add(*s.token_recall);
  if (s.nearest_available) nearest_candidate.add(s.closed, s.nearest_correct ? 1.0 : 0.0);
  exact_match_values.push_back(s.exact_match ? 1.0 : 0.0);
}

std::optional<Interval> GroupScores::exact_match_interval() const { return bootstrap_interval(exact_match_values); }

Report evaluate(const std::vector<Prediction>& predictions, const std::vector<std::string>& candidate_answers,
                const ReportMeta& meta) {
  Report r;
  r.meta = meta;
  const CandidateSet candidates(candidate_answers);
  r.candidates = candidates.size();
  NearestCache cache;
  r.predictions.reserve(predictions.size());
  for (const auto& p : predictions) {
    ScoredPrediction s = score(p, candidates, &cache);
    r.total.add(s);
    r.by_answer_type[s.closed ? "CLOSED" : "OPEN"].add(s);
    r.by_question_type[group_key(p.question_type)].add(s);
    r.by_language[group_key(p.language)].add(s);
    r.by_modality[group_key(p.modality)].add(s);
    r.predictions.push_back(std::move(s));
  }
  return r;
}

std::map<std::string, std::optional<Interval>> exact_match_intervals(const Report& r) {
  auto of = [&](const char* type) {
    auto g = r.by_answer_type.find(type);
    return g == r.by_answer_type.end() ? std::nullopt : g->second.exact_match_interval();
  };
  return {{"overall", r.total.exact_match_interval()}, {"closed", of("CLOSED")}, {"open", of("OPEN")}};
}

namespace {

// The confidence section (report.h), null when no prediction has a confidence.
json confidence_json(const Report& r) {
  auto samples = confidence_samples(r);
  if (samples.empty()) return nullptr;
  json bins = json::array();
  for (const auto& b : reliability_bins(samples))
    bins.push_back({{"low", b.low}, {"high", b.high}, {"n", b.n}, {"mean_confidence", b.mean_confidence},
                    {"accuracy", b.accuracy}});
  std::vector<TemperatureSample> curves;
  for (const auto& s : r.predictions)
    if (!s.input.log_probability_by_temperature.empty())
      curves.push_back({s.input.log_probability_by_temperature, s.exact_match});
  const Mean answered = answered_exact_match(r);
  json j = {{"temperature", r.meta.temperature},
            {"ece", expected_calibration_error(samples)},
            {"ece_at_temperature_1",
             curves.size() == samples.size() ? json(expected_calibration_error(at_temperature(curves, kUnitTemperature)))
                                             : json(nullptr)},
            {"bins", bins},
            {"min_confidence", r.meta.min_confidence},
            {"answered", answered.n},
            {"coverage", double(answered.n) / double(samples.size())},
            {"answered_exact_match", value_json(answered.value())}};
  return j;
}

}  // namespace

bool modality_known(const Report& r) {
  return !r.by_modality.empty() && !(r.by_modality.size() == 1 && r.by_modality.count(kNoGroup));
}

Mean answered_exact_match(const Report& r) {
  Mean answered;
  for (const auto& s : r.predictions)
    if (s.input.confidence && !s.input.withheld) answered.add(s.exact_match ? 1.0 : 0.0);
  return answered;
}

std::vector<ConfidenceSample> confidence_samples(const Report& r) {
  std::vector<ConfidenceSample> out;
  for (const auto& s : r.predictions)
    if (s.input.confidence) out.push_back({*s.input.confidence, s.exact_match});
  return out;
}

void write_reliability_diagram(const Report& report, const std::string& path) {
  auto samples = confidence_samples(report);
  if (samples.empty()) throw Error("no answer carries a confidence: no reliability diagram for " + path);
  auto png = image::encode_png(reliability_diagram(reliability_bins(samples)));
  io::write_file_atomically(path, std::string(png.begin(), png.end()));
}

json report_json(const Report& r) {
  const GroupScores& t = r.total;
  json intervals = json::object();
  for (const auto& [k, v] : exact_match_intervals(r)) intervals[k] = interval_json(v);
  json prior = nullptr;
  if (r.question_prior)
    prior = {{"overall", value_json(r.question_prior->all.value())},
             {"closed", value_json(r.question_prior->closed.value())},
             {"open", value_json(r.question_prior->open.value())},
             {"description", "the most frequent training answer to the same question text (else of its answer "
                             "type), scored by exact_match: the question-only floor"}};
  json controls = json::object();
  for (const auto& [name, m] : r.controls)
    controls[name] = {{"overall", value_json(m.all.value())},
                      {"closed", value_json(m.closed.value())},
                      {"open", value_json(m.open.value())}};
  json metrics = {
      {kExactMatch,
       {{"description", kExactMatchDescription},
        {"closed", count_json(t.exact_match.closed)},
        {"open", count_json(t.exact_match.open)},
        {"all", count_json(t.exact_match.all)}}},
      {kOpenTokenRecall,
       {{"description", kTokenRecallDescription}, {"open", recall_json(t.open_token_recall)["open"]}}},
      {kNearestCandidate,
       {{"description", kNearestDescription},
        {"candidates", r.candidates},
        {"available", r.candidates > 0},
        {"closed", count_json(t.nearest_candidate.closed)},
        {"open", count_json(t.nearest_candidate.open)},
        {"all", count_json(t.nearest_candidate.all)}}},
  };
  return {
      {"n", t.n},
      {"n_closed", t.n_closed},
      {"n_open", t.n_open},
      {"main_metric", kExactMatch},
      {"overall", value_json(t.exact_match.all.value())},
      {"closed", value_json(t.exact_match.closed.value())},
      {"open", value_json(t.exact_match.open.value())},
      {"interval_95", intervals},
      {"question_prior", prior},
      {"controls", controls},
      {"confidence", confidence_json(r)},
      {"metrics", metrics},
      {"breakdown",
       {{"answer_type", groups_json(r.by_answer_type)},
        {"question_type", groups_json(r.by_question_type)},
        {"language", groups_json(r.by_language)},
        {"modality", groups_json(r.by_modality)}}},
      {"meta",
       {{"dataset", r.meta.dataset},
        {"split_path", r.meta.split_path},
        {"model_path", r.meta.model_path},
        {"date", r.meta.date},
        {"languages", r.meta.languages},
        {"selection", r.meta.selection},
        {"image_control", r.meta.image_control.empty() ? json(nullptr) : json(r.meta.image_control)},
        {"answering", r.meta.answering},
        {"history_turns", r.meta.history_turns}}},
  };
}

json prediction_json(const ScoredPrediction& s) {
  const Prediction& p = s.input;
  json j = {
      {"id", p.id},
      {"question", p.question},
      {"reference", p.answer},
      {"prediction", p.prediction},
      {"reference_normalized", s.reference_normalized},
      {"prediction_normalized", s.prediction_normalized},
      {"answer_type", s.closed ? "CLOSED" : "OPEN"},
      {"question_type", p.question_type},
      {"language", p.language},
      {"modality", p.modality},
      {"correct",
       {{kExactMatch, s.exact_match},
        {kNearestCandidate, s.nearest_available ? json(s.nearest_correct) : json(nullptr)}}},
      {kOpenTokenRecall, value_json(s.token_recall)},
      {kNearestCandidate,
       {{"answer", s.nearest ? json(*s.nearest) : json(nullptr)}, {"ratio", s.nearest_ratio}}},
  };
  if (!p.closed_probabilities.empty()) j["closed_probabilities"] = p.closed_probabilities;
  if (p.confidence) {
    j["confidence"] = *p.confidence;
    j["withheld"] = p.withheld;
    if (!p.log_probability_by_temperature.empty()) j["log_probability_by_temperature"] = p.log_probability_by_temperature;
  }
  return j;
}

std::string format_table(const Report& r) {
  struct Row {
    std::string label;
    size_t n;
    std::optional<double> em, recall, nearest;
  };
  std::vector<Row> rows;
  auto group_row = [](const std::string& label, const GroupScores& g) {
    return Row{label, g.n, g.exact_match.all.value(), g.open_token_recall.value(), g.nearest_candidate.all.value()};
  };
  const GroupScores& t = r.total;
  rows.push_back(group_row("all", t));
  rows.push_back({"closed", t.n_closed, t.exact_match.closed.value(), std::nullopt, t.nearest_candidate.closed.value()});
  rows.push_back({"open", t.n_open, t.exact_match.open.value(), t.open_token_recall.value(),
                  t.nearest_candidate.open.value()});
  std::vector<std::pair<size_t, std::string>> headings;  // row index -> section heading before it
  auto section = [&](const std::string& name, const std::map<std::string, GroupScores>& groups) {
    headings.emplace_back(rows.size(), name);
    for (const auto& [k, g] : groups) rows.push_back(group_row("  " + k, g));
  };
  section("by question_type", r.by_question_type);
  section("by language", r.by_language);
  if (modality_known(r)) section("by modality", r.by_modality);

  size_t w0 = std::string("group").size();
  for (const auto& row : rows) w0 = std::max(w0, display_width(row.label));
  for (const auto& h : headings) w0 = std::max(w0, display_width(h.second));
  const size_t wn = 7;
  const std::string h1 = kExactMatch, h2 = kOpenTokenRecall, h3 = kNearestCandidate;
  const size_t w1 = h1.size(), w2 = h2.size(), w3 = h3.size();

  std::string out = pad_right("group", w0) + "  " + pad_left("n", wn) + "  " + h1 + "  " + h2 + "  " + h3 + "\n";
  out += std::string(w0 + wn + w1 + w2 + w3 + 8, '-') + "\n";
  size_t next_heading = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    while (next_heading < headings.size() && headings[next_heading].first == i) {
      out += headings[next_heading++].second + "\n";
    }
    const Row& row = rows[i];
    out += pad_right(row.label, w0) + "  " + pad_left(std::to_string(row.n), wn) + "  " + pad_left(percent(row.em), w1) +
           "  " + pad_left(percent(row.recall), w2) + "  " + pad_left(percent(row.nearest), w3) + "\n";
  }
  while (next_heading < headings.size()) out += headings[next_heading++].second + "\n";
  auto intervals = exact_match_intervals(r);
  out += "exact_match 95% bootstrap intervals:";
  for (const char* k : {"overall", "closed", "open"}) {
    const auto& v = intervals.at(k);
    out += std::string(" ") + k + " " + (v ? "[" + percent(v->low) + ", " + percent(v->high) + "]" : "-");
  }
  out += "\n";
  if (r.question_prior)
    out += "question-only prior (most frequent training answer to the same question): all " +
           percent(r.question_prior->all.value()) + ", closed " + percent(r.question_prior->closed.value()) +
           ", open " + percent(r.question_prior->open.value()) + "\n";
  for (const auto& [name, m] : r.controls)
    out += "control, " +
           std::string(name == "blank"   ? "a blank gray image"
                       : name == "none" ? "no image tokens (the question alone)"
                                        : "another question's image") +
           " for every question: all " + percent(m.all.value()) + ", closed " + percent(m.closed.value()) +
           ", open " + percent(m.open.value()) + "\n";
  if (!r.meta.image_control.empty())
    out += "control: every question was answered with " +
           std::string(r.meta.image_control == "blank"   ? "a blank gray image"
                       : r.meta.image_control == "none" ? "no image tokens (the question alone)"
                                                        : "the image of another question") +
           " instead of its own\n";
  if (r.meta.answering != "generated") out += "answers: " + r.meta.answering + "\n";
  if (r.meta.history_turns > 0)
    out += "follow-ups: every question after up to " + std::to_string(r.meta.history_turns) +
           " earlier questions about its image, with their reference answers\n";
  if (auto c = confidence_json(r); !c.is_null()) {
    out += "confidence: expected calibration error " + formatted("%.3f", c["ece"].get<double>()) + " at temperature " +
           formatted("%.3g", r.meta.temperature);
    if (!c["ece_at_temperature_1"].is_null())
      out += " (" + formatted("%.3f", c["ece_at_temperature_1"].get<double>()) + " at temperature 1)";
    out += "\n";
    if (r.meta.min_confidence > 0) {
      const auto& answered = c["answered_exact_match"];
      out += "answered at confidence >= " + formatted("%.3g", r.meta.min_confidence) + ": " +
             std::to_string(c["answered"].get<size_t>()) + " (coverage " + percent(c["coverage"].get<double>()) +
             "%), exact_match of those " +
             percent(answered.is_null() ? std::nullopt : std::optional<double>(answered.get<double>())) + "\n";
    }
  }
  out += "Values in %; '-': no questions in scope.\n"
         "exact_match (main metric), nearest_candidate: all questions of the row; open_token_recall: its open "
         "questions only.\n"
         "nearest_candidate: over " +
         std::to_string(r.candidates) + " candidate answers" +
         (r.candidates == 0 ? " (unavailable: no candidate answer set)" : "") + ".\n";
  return out;
}

void write_report(const Report& report, const std::string& path) {
  io::write_file_atomically(path, io::json_text(report_json(report), 2) + "\n");
}

void write_predictions(const Report& report, const std::string& path) {
  std::string out;
  for (const auto& s : report.predictions) {
    out += io::json_text(prediction_json(s));
    out += '\n';
  }
  io::write_file_atomically(path, out);
}

}  // namespace medvqa::eval
