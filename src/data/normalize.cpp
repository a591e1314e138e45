#include "data/normalize.h"

#include <cctype>
#include <cstring>

namespace medvqa::data {
namespace {

// Length of the whitespace character starting at s[i], or 0. Beside ASCII: NBSP, which web
// exports leave in answers, and the ideographic space of Chinese text.
size_t space_at(const std::string& s, size_t i) {
  switch (s[i]) {
    case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
      return 1;
    default:
      break;
  }
  if (s.compare(i, 2, "\xC2\xA0") == 0) return 2;
  if (s.compare(i, 3, "\xE3\x80\x80") == 0) return 3;
  return 0;
}

// Length of the trailing punctuation character of s, or 0.
size_t trailing_punct(const std::string& s) {
  if (s.empty()) return 0;
  if (std::strchr(".,!?;:", s.back()) != nullptr) return 1;
  for (const char* wide : {"\xE3\x80\x82" /* 。 */, "\xEF\xBC\x8C" /* ， */, "\xEF\xBC\x81" /* ！ */,
                           "\xEF\xBC\x9F" /* ？ */})
    if (s.size() >= 3 && s.compare(s.size() - 3, 3, wide) == 0) return 3;
  return 0;
}

// "2.0" -> "2", "-3.00" -> "-3"; anything else unchanged.
std::string drop_zero_fraction(const std::string& word) {
  const size_t dot = word.find('.');
  if (dot == std::string::npos || dot + 1 == word.size()) return word;
  size_t start = (word[0] == '-' || word[0] == '+') ? 1 : 0;
  if (dot == start) return word;
  for (size_t i = start; i < dot; ++i)
    if (!std::isdigit(static_cast<unsigned char>(word[i]))) return word;
  for (size_t i = dot + 1; i < word.size(); ++i)
    if (word[i] != '0') return word;
  return word.substr(0, dot);
}

}  // namespace

std::string collapse_whitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = space_at(text, i)) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += text[i++];
  }
  return out;
}

std::string normalize_answer(const std::string& answer) {
  std::string s = answer;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  s = collapse_whitespace(s);
  while (const size_t n = trailing_punct(s)) {
    s.resize(s.size() - n);
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  std::string out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    size_t end = s.find(' ', start);
    if (end == std::string::npos) end = s.size();
    if (!out.empty()) out += ' ';
    out += drop_zero_fraction(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace medvqa::data
