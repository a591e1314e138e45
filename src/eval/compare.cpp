#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::eval {

double mcnemar_exact_p(size_t b, size_t c) {
  const size_t n = b + c, k = std::min(b, c);
  if (n == 0) return 1.0;
  // Σ_{i ≤ k} C(n, i) / 2^n in logs: n can be thousands.
  double tail = 0;
  for (size_t i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) -
                     double(n) * std::log(2.0));
  return std::min(1.0, 2 * tail);
}

PairedComparison compare_paired(const std::vector<bool>& a, const std::vector<bool>& b, uint64_t seed) {
  if (a.size() != b.size())
    throw Error("paired comparison of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + " answers");
  PairedComparison c;
  c.n = a.size();
  std::vector<double> differences(c.n);
  for (size_t i = 0; i < c.n; ++i) {
    if (a[i] && b[i]) ++c.both_right;
    else if (a[i]) ++c.only_a;
    else if (b[i]) ++c.only_b;
    else ++c.both_wrong;
    differences[i] = double(b[i]) - double(a[i]);
  }
  if (c.n == 0) return c;
  c.accuracy_a = double(c.both_right + c.only_a) / double(c.n);
  c.accuracy_b = double(c.both_right + c.only_b) / double(c.n);
  c.difference = c.accuracy_b - c.accuracy_a;
  c.difference_95 = bootstrap_interval(differences, 1000, seed);
  c.mcnemar_p = mcnemar_exact_p(c.only_a, c.only_b);
  return c;
}

std::vector<PredictionRecord> read_prediction_records(const std::string& path) {
  std::istringstream in(io::read_text_file(path));
  std::vector<PredictionRecord> records;
  std::map<std::string, size_t> line_of;
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_number);
    PredictionRecord r;
    try {
      const auto j = nlohmann::json::parse(line);
      const auto& id = j.at("id");
      r.key = id.is_string() ? id.get<std::string>() : id.dump();
      if (j.contains("language") && j["language"].is_string() && !j["language"].get<std::string>().empty())
        r.key += " (" + j["language"].get<std::string>() + ")";
      r.question = j.at("question").get<std::string>();
      r.closed = j.at("answer_type").get<std::string>() == "CLOSED";
      r.correct = j.at("correct").at("exact_match").get<bool>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + ": not a prediction line of `medvqa eval` (" + e.what() + ")");
    }
    if (auto [it, fresh] = line_of.emplace(r.key, line_number); !fresh)
      throw Error(where + ": question " + r.key + " again (first on line " + std::to_string(it->second) + ")");
    records.push_back(std::move(r));
  }
  if (records.empty()) throw Error(path + ": no predictions");
  return records;
}

FileComparison compare_prediction_files(const std::string& path_a, const std::string& path_b) {
  const auto a = read_prediction_records(path_a), b = read_prediction_records(path_b);
  std::map<std::string, const PredictionRecord*> b_by_key;
  for (const auto& r : b) b_by_key[r.key] = &r;
  std::vector<bool> all_a, all_b, closed_a, closed_b, open_a, open_b;
  for (const auto& ra : a) {
    auto it = b_by_key.find(ra.key);
    if (it == b_by_key.end())
      throw Error("question " + ra.key + " of " + path_a + " is not in " + path_b +
                  ": a paired comparison needs the same questions in both");
    const PredictionRecord& rb = *it->second;
    if (rb.question != ra.question)
      throw Error("question " + ra.key + " reads \"" + ra.question + "\" in " + path_a + " but \"" + rb.question +
                  "\" in " + path_b);
    all_a.push_back(ra.correct);
    all_b.push_back(rb.correct);
    (ra.closed ? closed_a : open_a).push_back(ra.correct);
    (ra.closed ? closed_b : open_b).push_back(rb.correct);
  }
  if (b.size() != a.size())
    throw Error(path_b + " has " + std::to_string(b.size() - a.size()) + " questions that " + path_a +
                " lacks: a paired comparison needs the same questions in both");
  return {path_a, path_b, compare_paired(all_a, all_b), compare_paired(closed_a, closed_b),
          compare_paired(open_a, open_b)};
}

namespace {

nlohmann::json paired_json(const PairedComparison& c) {
  nlohmann::json j = {{"n", c.n},
                      {"accuracy_a", c.accuracy_a},
                      {"accuracy_b", c.accuracy_b},
                      {"difference", c.difference},
                      {"both_right", c.both_right},
                      {"only_a", c.only_a},
                      {"only_b", c.only_b},
                      {"both_wrong", c.both_wrong},
                      {"mcnemar_exact_p", c.mcnemar_p}};
  j["difference_interval_95"] =
      c.difference_95 ? nlohmann::json::array({c.difference_95->low, c.difference_95->high}) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

nlohmann::json to_json(const FileComparison& c) {
  return {{"a", c.path_a},
          {"b", c.path_b},
          {"metric", "exact_match"},
          {"overall", paired_json(c.overall)},
          {"closed", paired_json(c.closed)},
          {"open", paired_json(c.open)}};
}

std::string format_comparison(const FileComparison& c) {
  std::string out = "A: " + c.path_a + "\nB: " + c.path_b + "\nexact match, paired over the same questions:\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %6s %7s %7s %8s %18s %7s %7s %10s\n", "", "n", "A %", "B %", "B-A", "95% CI",
                "only A", "only B", "McNemar p");
  out += line;
  for (const auto& [label, p] : {std::pair<const char*, const PairedComparison&>{"overall", c.overall},
                                 {"closed", c.closed},
                                 {"open", c.open}}) {
    std::string interval = "-";
    if (p.difference_95) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "[%+.1f, %+.1f]", 100 * p.difference_95->low, 100 * p.difference_95->high);
      interval = buf;
    }
    std::snprintf(line, sizeof line, "%-8s %6zu %7.1f %7.1f %+8.1f %18s %7zu %7zu %10.3g\n", label, p.n,
                  100 * p.accuracy_a, 100 * p.accuracy_b, 100 * p.difference, interval.c_str(), p.only_a, p.only_b,
                  p.mcnemar_p);
    out += line;
  }
  return out;
}

}  // namespace medvqa::eval
