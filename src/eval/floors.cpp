#include "eval/floors.h"

#include <algorithm>
#include <map>

#include "data/normalize.h"

namespace medvqa::eval {

namespace {

// Counts with the order of first appearance, so ties go to the answer seen first.
struct Tally {
  std::map<std::string, std::pair<int64_t, int64_t>> counts;  // answer -> (count, first index)
  void add(const std::string& answer) {
    auto [it, fresh] = counts.emplace(answer, std::make_pair(0, int64_t(counts.size())));
    ++it->second.first;
  }
  std::string most_frequent() const {
    const std::pair<const std::string, std::pair<int64_t, int64_t>>* best = nullptr;
    for (const auto& c : counts)
      if (best == nullptr || c.second.first > best->second.first ||
          (c.second.first == best->second.first && c.second.second < best->second.second))
        best = &c;
    return best ? best->first : std::string();
  }
};

// Unlike is_closed_answer_type, an unmarked question (PMC-VQA) is open rather than an error.
bool closed(const std::string& answer_type) { return data::normalize_answer(answer_type) == "closed"; }

}  // namespace

ScopedMean question_prior_exact_match(const std::vector<TrainingQuestion>& training,
                                      const std::vector<Prediction>& predictions) {
  std::map<std::string, Tally> by_question;
  std::map<bool, Tally> by_type;
  for (const auto& t : training) {
    const std::string answer = data::normalize_answer(t.answer);
    by_question[data::normalize_answer(t.question)].add(answer);
    by_type[closed(t.answer_type)].add(answer);
  }
  ScopedMean scores;
  for (const auto& p : predictions) {
    const bool is_closed = closed(p.answer_type);
    auto q = by_question.find(data::normalize_answer(p.question));
    const std::string guess = q != by_question.end() ? q->second.most_frequent() : by_type[is_closed].most_frequent();
    scores.add(is_closed, guess == data::normalize_answer(p.answer) ? 1.0 : 0.0);
  }
  return scores;
}

}  // namespace medvqa::eval
