#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace medvqa::eval {

// Decodes UTF-8 into code points, so that string comparisons work per character the way Python's
// `str` does (a Chinese answer is 1 element per character, not 3 bytes). A byte that does not start
// a valid UTF-8 sequence decodes to U+DC80 + byte, like Python's errors="surrogateescape", so
// malformed input still compares deterministically.
std::u32string utf8_to_code_points(std::string_view utf8);

// Python's difflib.SequenceMatcher(None, a, b) (isjunk=None, autojunk=True), reproduced exactly:
// Ratcliff/Obershelp matching — the longest matching block, earliest in `a` then in `b` on ties,
// recursively on both sides — and ratio() = 2*M/T, with M the matched elements and T = len(a)+len(b)
// (1.0 when both are empty).
//
// The autojunk heuristic is implemented too: when len(b) >= 200, every element occurring more than
// len(b)/100 + 1 times in b is "popular" and cannot start a match (it can still extend one), exactly
// as difflib does. Answers are almost always far shorter than 200 characters, where it never applies.
//
// The matcher holds b (difflib's seq2) with its index, so comparing many a's against one b — as the
// nearest-candidate metric does — builds the index once, as difflib's own docs recommend.
class SequenceMatcher {
 public:
  explicit SequenceMatcher(std::u32string b);

  // Number of matched elements M (the sum of the sizes of get_matching_blocks()).
  size_t matches(std::u32string_view a) const;
  // difflib's ratio(): 2.0 * M / (len(a) + len(b)), or 1.0 when both are empty.
  double ratio(std::u32string_view a) const;
  // difflib's real_quick_ratio(): an upper bound on ratio(a), from the lengths alone.
  double real_quick_ratio(size_t a_length) const;

  const std::u32string& b() const { return b_; }

 private:
  struct Block {
    size_t i, j, size;
  };
  struct Scratch;
  Block find_longest_match(std::u32string_view a, size_t alo, size_t ahi, size_t blo, size_t bhi,
                           Scratch& scratch) const;

  std::u32string b_;
  std::unordered_map<char32_t, std::vector<size_t>> b2j_;  // element -> its positions in b, ascending
};

// difflib.SequenceMatcher(None, a, b).ratio() for two UTF-8 strings, compared per code point.
double sequence_ratio(std::string_view a, std::string_view b);

}  // namespace medvqa::eval
