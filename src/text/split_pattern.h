#pragma once
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medvqa::text {

// [begin, end) in bytes.
using Span = std::pair<size_t, size_t>;

// The pattern of a Split pre-tokenizer. HF compiles it with Oniguruma, which std::regex cannot
// emulate (nested classes, \p{..}, Unicode \s), so the patterns real tokenizers use are matched by
// hand-written scanners recognised by their exact source text.
class SplitPattern {
 public:
  // {"String": literal} or {"Regex": source}; an unrecognised regex is a medvqa::Error.
  static SplitPattern from_json(const nlohmann::json& pattern);
  // ByteLevel(use_regex=true)'s pattern.
  static SplitPattern gpt2();

  // Leftmost, non-overlapping, non-empty matches, as Oniguruma's search would find them.
  std::vector<Span> find_matches(std::string_view text) const;

 private:
  enum class Kind { kLiteral, kBloom, kGpt2 };
  SplitPattern(Kind kind, std::string literal) : kind_(kind), literal_(std::move(literal)) {}

  Kind kind_;
  std::string literal_;
};

// Regex sources recognised by SplitPattern.
extern const char* const kBloomSplitRegex;
extern const char* const kGpt2SplitRegex;

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Parses HF's behaviour name ("Isolated", ...); anything else is a medvqa::Error.
SplitBehavior parse_split_behavior(const std::string& name);

// Cuts [0, length) at the matches and keeps/merges the delimiters as `behavior` says (with
// `invert`, the matches are what lies between delimiters). Never returns an empty span.
std::vector<Span> apply_split_behavior(const std::vector<Span>& matches, size_t length, SplitBehavior behavior,
                                       bool invert);

}  // namespace medvqa::text
