#include "eval/html_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "eval/calibration.h"
#include "io/atomic_file.h"

namespace medvqa::eval {

namespace {

constexpr size_t kConfusionAnswers = 8;  // rows and columns of the confusion table, before "(rest)"

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string interval_text(const std::optional<Interval>& v) {
  return v ? percent(v->low) + "–" + percent(v->high) : "-";
}

// One bar of a chart: a share in [0, 1] (none: no questions), with an optional 95% interval.
struct Bar {
  std::string label;
  std::optional<double> value;
  std::optional<Interval> interval;
  std::string note;  // after the value, e.g. "n 96"
  bool highlight = false;
};

// Horizontal bars on a 0-100% axis, labels left, value and note right.
std::string bar_chart(const std::vector<Bar>& bars) {
  const int label_w = 210, plot_w = 380, row_h = 24, top = 20, width = label_w + plot_w + 190;
  const int height = top + row_h * int(bars.size()) + 8;
  std::string svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" role=\"img\">\n";
  for (int tick = 0; tick <= 100; tick += 25) {
    const double x = label_w + plot_w * tick / 100.0;
    svg += "<line x1=\"" + formatted("%.1f", x) + "\" y1=\"" + std::to_string(top - 4) + "\" x2=\"" + formatted("%.1f", x) +
           "\" y2=\"" + std::to_string(height - 6) + "\" class=\"grid\"/>" + "<text x=\"" + formatted("%.1f", x) +
           "\" y=\"12\" class=\"tick\">" + std::to_string(tick) + "%</text>\n";
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const int y = top + row_h * int(i);
    svg += "<g class=\"bar\"><text x=\"" + std::to_string(label_w - 8) + "\" y=\"" + std::to_string(y + 16) +
           "\" class=\"label\">" + escape(b.label) + "</text>";
    if (b.value) {
      svg += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 4) + "\" width=\"" +
             formatted("%.1f", plot_w * *b.value) + "\" height=\"" + std::to_string(row_h - 8) + "\" class=\"" +
             (b.highlight ? "model" : "floor") + "\"/>";
      if (b.interval) {
        const double x0 = label_w + plot_w * b.interval->low, x1 = label_w + plot_w * b.interval->high;
        const int yc = y + row_h / 2;
        svg += "<path d=\"M" + formatted("%.1f", x0) + " " + std::to_string(yc) + "H" + formatted("%.1f", x1) + "M" +
               formatted("%.1f", x0) + " " + std::to_string(yc - 5) + "v10M" + formatted("%.1f", x1) + " " +
               std::to_string(yc - 5) + "v10\" class=\"whisker\"/>";
      }
    }
    svg += "<text x=\"" + std::to_string(label_w + plot_w + 8) + "\" y=\"" + std::to_string(y + 16) +
           "\" class=\"value\">" + percent(b.value) + (b.interval ? " (" + interval_text(b.interval) + ")" : "") +
           (b.note.empty() ? "" : " " + escape(b.note)) + "</text></g>\n";
  }
  return svg + "</svg>\n";
}

std::vector<Bar> group_bars(const std::map<std::string, GroupScores>& groups) {
  std::vector<Bar> bars;
  for (const auto& [name, g] : groups)
    bars.push_back({name, g.exact_match.all.value(), g.exact_match_interval(), "n " + std::to_string(g.n), true});
  return bars;
}

// Accuracy against confidence per bin, beside the diagonal of perfect calibration.
std::string reliability_svg(const std::vector<ReliabilityBin>& bins) {
  const int left = 44, top = 10, side = 300, width = left + side + 90, height = top + side + 40;
  auto px = [&](double v) { return formatted("%.1f", left + side * v); };
  auto py = [&](double v) { return formatted("%.1f", top + side * (1 - v)); };
  std::string svg = "<svg class=\"reliability\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" role=\"img\">\n";
  svg += "<rect x=\"" + px(0) + "\" y=\"" + py(1) + "\" width=\"" + std::to_string(side) + "\" height=\"" +
         std::to_string(side) + "\" class=\"frame\"/>\n";
  for (const auto& b : bins) {
    if (b.n == 0) continue;
    svg += "<rect x=\"" + px(b.low) + "\" y=\"" + py(b.accuracy) + "\" width=\"" +
           formatted("%.1f", side * (b.high - b.low)) + "\" height=\"" + formatted("%.1f", side * b.accuracy) +
           "\" class=\"model\"><title>confidence " + formatted("%.1f", b.low) + "-" + formatted("%.1f", b.high) + ": " +
           std::to_string(b.n) + " answers, accuracy " + percent(b.accuracy) + "%, mean confidence " +
           percent(b.mean_confidence) + "%</title></rect>\n";
    svg += "<text x=\"" + px((b.low + b.high) / 2) + "\" y=\"" + py(0) + "\" dy=\"-4\" class=\"count\">" +
           std::to_string(b.n) + "</text>\n";
  }
  svg += "<line x1=\"" + px(0) + "\" y1=\"" + py(0) + "\" x2=\"" + px(1) + "\" y2=\"" + py(1) + "\" class=\"diagonal\"/>\n";
  for (int t = 0; t <= 10; t += 5) {
    const double v = t / 10.0;
    svg += "<text x=\"" + px(v) + "\" y=\"" + py(0) + "\" dy=\"16\" class=\"tick\">" + formatted("%.1f", v) + "</text>";
    svg += "<text x=\"" + px(0) + "\" y=\"" + py(v) + "\" dx=\"-6\" dy=\"4\" class=\"tick end\">" + formatted("%.1f", v) +
           "</text>\n";
  }
  svg += "<text x=\"" + px(0.5) + "\" y=\"" + std::to_string(height - 4) +
         "\" class=\"tick\">confidence (bars: accuracy per bin of 0.1; numbers: answers)</text>\n";
  return svg + "</svg>\n";
}

// Reference answer (rows) × the model's answer (columns) over the closed questions, both
// normalized, for the most frequent references; the rest go to "(rest)".
std::string confusion_table(const Report& r) {
  std::map<std::string, size_t> frequency;
  for (const auto& s : r.predictions)
    if (s.closed) ++frequency[s.reference_normalized];
  if (frequency.empty()) return "<p>No closed questions.</p>\n";
  std::vector<std::pair<size_t, std::string>> by_count;
  for (const auto& [answer, n] : frequency) by_count.emplace_back(n, answer);
  std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> labels;
  for (size_t i = 0; i < by_count.size() && i < kConfusionAnswers; ++i) labels.push_back(by_count[i].second);
  const size_t other = labels.size();
  auto index = [&](const std::string& answer) {
    return size_t(std::find(labels.begin(), labels.end(), answer) - labels.begin());
  };
  std::vector<std::vector<size_t>> counts(other + 1, std::vector<size_t>(other + 1, 0));
  for (const auto& s : r.predictions)
    if (s.closed) ++counts[index(s.reference_normalized)][index(s.prediction_normalized)];
  // Names no answer of these datasets has.
  auto name = [&](size_t i) { return i == other ? std::string("(rest)") : labels[i].empty() ? "(empty)" : labels[i]; };
  std::string html = "<table class=\"confusion\"><tr><th>reference \\ answer</th>";
  for (size_t j = 0; j <= other; ++j) html += "<th>" + escape(name(j)) + "</th>";
  html += "</tr>\n";
  for (size_t i = 0; i <= other; ++i) {
    html += "<tr><th>" + escape(name(i)) + "</th>";
    for (size_t j = 0; j <= other; ++j)
      html += std::string("<td") + (i == j && i != other ? " class=\"right\"" : "") + ">" +
              std::to_string(counts[i][j]) + "</td>";
    html += "</tr>\n";
  }
  html += "</table>\n<p class=\"note\">Closed questions only, normalized answers. Rows: the " +
          std::to_string(labels.size()) + " most frequent references (" + std::to_string(frequency.size()) +
          " distinct); \"(rest)\" holds the others, and every answer outside those. Green: right.</p>\n";
  return html;
}

std::string meta_table(const ReportMeta& m) {
  std::string languages;
  for (const auto& l : m.languages) languages += (languages.empty() ? "" : ", ") + l;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"dataset", m.dataset},     {"split", m.split_path},           {"selection", m.selection},
      {"model", m.model_path},    {"date", m.date},                  {"languages", languages},
      {"answers", m.answering},   {"images", m.image_control.empty() ? "the questions' own" : m.image_control},
      {"earlier turns", m.history_turns == 0 ? "none (each question asked alone)"
                                             : "up to " + std::to_string(m.history_turns) + " per question"}};
  std::string html = "<table class=\"meta\">\n";
  for (const auto& [k, v] : rows) html += "<tr><th>" + k + "</th><td>" + escape(v) + "</td></tr>\n";
  return html + "</table>\n";
}

const char* kStyle = R"(body{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#1b1f24}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de}
.notice{background:#fff4e5;border:1px solid #f0b45a;padding:8px 12px}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
td{text-align:right}.meta td{text-align:left}.confusion td.right{background:#d8f3dc}
.note{color:#57606a;font-size:12px}
svg text{font:12px system-ui,sans-serif;fill:#1b1f24}.label{text-anchor:end}.tick{fill:#57606a;text-anchor:middle}
.tick.end{text-anchor:end}.count{font-size:10px;text-anchor:middle}.grid{stroke:#eaeef2}
.model{fill:#4472c4}.floor{fill:#b0b7c0}.whisker{stroke:#1b1f24;stroke-width:1.5;fill:none}
.frame{fill:none;stroke:#d0d7de}.diagonal{stroke:#c0392b;stroke-dasharray:4 3})";

}  // namespace

std::string html_report(const Report& r) {
  const GroupScores& t = r.total;
  const auto intervals = exact_match_intervals(r);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>medvqa evaluation: " +
                     escape(r.meta.dataset) + "</title>\n<style>" + kStyle + "</style></head><body>\n";
  html += "<h1>medvqa evaluation: " + escape(r.meta.dataset) + "</h1>\n";
  html += "<p class=\"notice\">The answers scored here are machine-generated by a research model: not validated for "
          "clinical use and not medical advice.</p>\n";
  html += meta_table(r.meta);

  html += "<h2>Normalized exact match</h2>\n<table class=\"summary\"><tr><th></th><th>n</th><th>exact match, %</th>"
          "<th>95% bootstrap interval</th></tr>\n";
  const std::vector<std::tuple<std::string, size_t, std::optional<double>, std::optional<Interval>>> summary = {
      {"overall", t.n, t.exact_match.all.value(), intervals.at("overall")},
      {"closed", t.n_closed, t.exact_match.closed.value(), intervals.at("closed")},
      {"open", t.n_open, t.exact_match.open.value(), intervals.at("open")}};
  for (const auto& [name, n, value, interval] : summary)
    html += "<tr><th>" + name + "</th><td>" + std::to_string(n) + "</td><td>" + percent(value) + "</td><td>" +
            interval_text(interval) + "</td></tr>\n";
  html += "</table>\n";

  html += "<h2>The model against its floors</h2>\n";
  std::vector<Bar> floors = {{"model, real images", t.exact_match.all.value(), intervals.at("overall"), "", true}};
  if (r.question_prior)
    floors.push_back({"question-only prior", r.question_prior->all.value(), std::nullopt, "", false});
  for (const auto& [name, m] : r.controls)
    floors.push_back({name == "blank"  ? "blank gray images"
                      : name == "none" ? "no image tokens"
                                       : "shuffled images",
                      m.all.value(), std::nullopt, "", false});
  html += bar_chart(floors);
  html += "<p class=\"note\">The question-only prior answers each question with the most frequent training answer to "
          "the same question text (else of its answer type). The controls answer the same questions with a blank "
          "gray image, another question's image, or no image tokens. A model that uses the image clears all of "
          "them by more than its interval." +
          std::string(r.question_prior ? "" : " No training questions were given: no prior.") +
          (r.controls.empty() ? " No controls were run (medvqa eval --controls)." : "") + "</p>\n";

  html += "<h2>By question type</h2>\n" + bar_chart(group_bars(r.by_question_type));
  if (modality_known(r)) html += "<h2>By modality</h2>\n" + bar_chart(group_bars(r.by_modality));
  html += "<h2>By language</h2>\n" + bar_chart(group_bars(r.by_language));
  html += "<p class=\"note\">Bars: exact match; whiskers and parentheses: percentile-bootstrap 95% intervals (1000 "
          "resamples of the group's questions).</p>\n";

  html += "<h2>Closed questions: reference against answer</h2>\n" + confusion_table(r);

  html += "<h2>Confidence</h2>\n";
  const auto samples = confidence_samples(r);
  if (samples.empty()) {
    html += "<p>No answer carries a confidence (ranked answers have none).</p>\n";
  } else {
    html += reliability_svg(reliability_bins(samples));
    html += "<p>Expected calibration error (10 bins): " + formatted("%.3f", expected_calibration_error(samples)) +
            " at temperature " + formatted("%.3g", r.meta.temperature) + ", over " + std::to_string(samples.size()) +
            " answers.";
    if (r.meta.min_confidence > 0) {
      const Mean answered = answered_exact_match(r);
      html += " Answers below confidence " + formatted("%.3g", r.meta.min_confidence) + " were withheld: " +
              std::to_string(answered.n) + " answered (coverage " +
              percent(double(answered.n) / double(samples.size())) + "%), exact match of those " +
              percent(answered.value()) + "%.";
    }
    html += "</p>\n";
  }
  html += "<p class=\"note\">Written by medvqa eval. Exact match compares normalized answers "
          "(data::normalize_answer); the JSON report beside it (--out) has every figure of this page.</p>\n";
  return html + "</body></html>\n";
}

void write_html_report(const Report& report, const std::string& path) {
  io::write_file_atomically(path, html_report(report));
}

}  // namespace medvqa::eval
