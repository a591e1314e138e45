#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/example.h"

namespace medvqa::infer {

// An earlier question about the same image and the answer it got (a chat's follow-up context).
struct Turn {
  std::string question, answer;
};

// `s` without leading and trailing whitespace.
std::string trim(const std::string& s);

constexpr size_t kMaxQuestionBytes = 2000;
constexpr size_t kMaxConversationBytes = 8000;

// The prompt for a question in `prompt_template` (which contains {question}); after earlier
// turns, each of them in the template followed by its answer, then the question's ("Question:
// Which organ? Answer: liver Question: Is it enlarged? Answer:"). Training and answering both
// build prompts here, so a model trained on conversations sees them as it is asked them. Throws
// on an empty or overlong question, and on a conversation longer than kMaxConversationBytes.
std::string conversation_prompt(const std::string& prompt_template, const std::string& question,
                                const std::vector<Turn>& history = {});

// The questions that can precede `examples[i]` in a conversation: the other questions about the
// same image in the same language with another question text (a repeat would answer itself),
// as indices, in input order.
std::vector<std::vector<size_t>> conversation_partners(const std::vector<data::VqaExample>& examples);

// Each example after the (up to) `turns` partner questions that come before it in input order,
// with their reference answers: the follow-up setting of `medvqa eval --history-turns`.
std::vector<std::vector<Turn>> earlier_turns(const std::vector<data::VqaExample>& examples, size_t turns);

// Training conversations: each example, with probability `probability`, after 1..max_turns of
// its partners drawn at random (seeded), with their reference answers; else alone.
std::vector<std::vector<Turn>> random_histories(const std::vector<data::VqaExample>& examples, double probability,
                                                size_t max_turns, uint64_t seed);

}  // namespace medvqa::infer
