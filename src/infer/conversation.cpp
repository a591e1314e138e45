#include "infer/conversation.h"

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "data/normalize.h"
#include "io/error.h"

namespace medvqa::infer {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string conversation_prompt(const std::string& prompt_template, const std::string& question,
                                const std::vector<Turn>& history) {
  auto in_template = [&](const std::string& question, const std::string& what) {
    std::string q = trim(question);
    if (q.empty()) throw Error(what + " is empty");
    if (q.size() > kMaxQuestionBytes)
      throw Error(what + " is " + std::to_string(q.size()) + " bytes long; the limit is " +
                  std::to_string(kMaxQuestionBytes));
    std::string p = prompt_template;
    p.replace(p.find("{question}"), std::string("{question}").size(), q);
    return p;
  };
  std::string conversation;
  for (size_t i = 0; i < history.size(); ++i)
    conversation += in_template(history[i].question, "earlier question " + std::to_string(i + 1)) + " " +
                    trim(history[i].answer) + " ";
  conversation += in_template(question, "the question");
  if (conversation.size() > kMaxConversationBytes)
    throw Error("the conversation is " + std::to_string(conversation.size()) + " bytes long with its " +
                std::to_string(history.size()) + " earlier turns; the limit is " +
                std::to_string(kMaxConversationBytes));
  return conversation;
}

std::vector<std::vector<size_t>> conversation_partners(const std::vector<data::VqaExample>& examples) {
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by_image;
  for (size_t i = 0; i < examples.size(); ++i)
    by_image[{examples[i].image_path, examples[i].language}].push_back(i);
  std::vector<std::vector<size_t>> partners(examples.size());
  for (const auto& [key, members] : by_image)
    for (size_t i : members) {
      if (trim(examples[i].question).empty()) continue;  // captions have no question to follow
      const std::string question = data::normalize_answer(examples[i].question);
      for (size_t j : members)
        if (j != i && !trim(examples[j].question).empty() && data::normalize_answer(examples[j].question) != question)
          partners[i].push_back(j);
    }
  return partners;
}

namespace {

// The answer as the model gives it (normalized, as training targets are).
Turn turn_of(const data::VqaExample& e) { return {e.question, data::normalize_answer(e.answer)}; }

}  // namespace

std::vector<std::vector<Turn>> earlier_turns(const std::vector<data::VqaExample>& examples, size_t turns) {
  const auto partners = conversation_partners(examples);
  std::vector<std::vector<Turn>> histories(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    std::vector<size_t> before;
    for (size_t j : partners[i])
      if (j < i) before.push_back(j);
    const size_t first = before.size() > turns ? before.size() - turns : 0;
    for (size_t k = first; k < before.size(); ++k) histories[i].push_back(turn_of(examples[before[k]]));
  }
  return histories;
}

std::vector<std::vector<Turn>> random_histories(const std::vector<data::VqaExample>& examples, double probability,
                                                size_t max_turns, uint64_t seed) {
  if (!(probability >= 0 && probability <= 1))
    throw Error("the probability of a conversation must be in [0, 1], got " + std::to_string(probability));
  std::vector<std::vector<Turn>> histories(examples.size());
  if (probability == 0 || max_turns == 0) return histories;
  const auto partners = conversation_partners(examples);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (size_t i = 0; i < examples.size(); ++i) {
    if (partners[i].empty() || unit(rng) >= probability) continue;
    std::vector<size_t> drawn = partners[i];
    std::shuffle(drawn.begin(), drawn.end(), rng);
    const size_t n = std::uniform_int_distribution<size_t>(1, std::min(max_turns, drawn.size()))(rng);
    for (size_t k = 0; k < n; ++k) histories[i].push_back(turn_of(examples[drawn[k]]));
  }
  return histories;
}

}  // namespace medvqa::infer
