#include "eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "data/normalize.h"
#include "io/error.h"

namespace medvqa::eval {

bool is_closed_answer_type(const std::string& answer_type, const std::string& id) {
  std::string t;
  for (char c : answer_type) t.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  const auto first = t.find_first_not_of(" \t\r\n");
  const auto last = t.find_last_not_of(" \t\r\n");
  t = first == std::string::npos ? std::string() : t.substr(first, last - first + 1);
  if (t == "CLOSED") return true;
  if (t == "OPEN") return false;
  throw Error("question " + id + ": answer_type must be CLOSED or OPEN, got \"" + answer_type + "\"");
}

std::vector<std::string> answer_tokens(const std::string& normalized) {
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : normalized) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

double token_recall(const std::string& reference_normalized, const std::string& prediction_normalized) {
  const auto reference = answer_tokens(reference_normalized);
  const auto predicted = answer_tokens(prediction_normalized);
  if (reference.empty()) return predicted.empty() ? 1.0 : 0.0;
  const std::unordered_set<std::string> in_prediction(predicted.begin(), predicted.end());
  size_t found = 0;
  for (const auto& t : reference) found += in_prediction.count(t);
  return static_cast<double>(found) / static_cast<double>(reference.size());
}

CandidateSet::CandidateSet(const std::vector<std::string>& answers) {
  std::unordered_set<std::string> seen;
  for (const auto& a : answers) {
    std::string n = data::normalize_answer(a);
    if (n.empty() || !seen.insert(n).second) continue;
    code_points_.push_back(utf8_to_code_points(n));
    answers_.push_back(std::move(n));
  }
}

CandidateSet::Match CandidateSet::nearest(const std::string& prediction_normalized) const {
  const SequenceMatcher matcher(utf8_to_code_points(prediction_normalized));
  Match best;
  for (size_t i = 0; i < answers_.size(); ++i) {
    // ratio <= real_quick_ratio, and only a strictly higher ratio replaces the best, so candidates
    // whose length bound cannot beat it are skipped without changing the result.
    if (matcher.real_quick_ratio(code_points_[i].size()) <= best.ratio) continue;
    const double r = matcher.ratio(code_points_[i]);
    if (r > best.ratio) {
      best.ratio = r;
      best.candidate = answers_[i];
    }
  }
  return best;
}

ScoredPrediction score(const Prediction& p, const CandidateSet& candidates, NearestCache* cache) {
  ScoredPrediction s;
  s.input = p;
  s.closed = is_closed_answer_type(p.answer_type, p.id);
  s.reference_normalized = data::normalize_answer(p.answer);
  s.prediction_normalized = data::normalize_answer(p.prediction);
  s.exact_match = s.reference_normalized == s.prediction_normalized;
  if (!s.closed) s.token_recall = token_recall(s.reference_normalized, s.prediction_normalized);
  s.nearest_available = !candidates.empty();
  if (s.nearest_available) {
    CandidateSet::Match m;
    if (cache) {
      auto it = cache->find(s.prediction_normalized);
      if (it == cache->end()) it = cache->emplace(s.prediction_normalized, candidates.nearest(s.prediction_normalized)).first;
      m = it->second;
    } else {
      m = candidates.nearest(s.prediction_normalized);
    }
    s.nearest_ratio = m.ratio;
    s.nearest_correct = m.candidate && *m.candidate == s.reference_normalized;
    s.nearest = std::move(m.candidate);
  }
  return s;
}

}  // namespace medvqa::eval
