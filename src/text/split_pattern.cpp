#include "text/split_pattern.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "io/error.h"
#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace medvqa::text {

const char* const kBloomSplitRegex = " ?[^(\\s|[.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c])]+";
const char* const kGpt2SplitRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

struct Unit {
  size_t pos;
  char32_t cp;
};

// The code points of `text` with their byte positions, plus a sentinel at text.size().
std::vector<Unit> units_of(std::string_view text) {
  std::vector<Unit> units;
  units.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const CodePoint cp = decode_utf8(text, pos);
    units.push_back({pos, cp.value});
    pos += cp.length;
  }
  units.push_back({text.size(), kInvalidCodePoint});
  return units;
}

// Members of BLOOM's negated class: `(`, `|`, `)` are literal there, \s is Unicode whitespace.
bool bloom_excluded(char32_t c) {
  switch (c) {
    case U'(': case U')': case U'|': case U'.': case U',': case U'!': case U'?':
    case U'\u2026': case U'\u3002': case U'\uff0c': case U'\u3001': case U'\u0964': case U'\u06d4': case U'\u060c':
      return true;
    default:
      return is_whitespace(c);
  }
}

// ` ?[^(\s|[.,!?…。，、।۔،])]+`
std::vector<Span> bloom_matches(std::string_view text) {
  const std::vector<Unit> u = units_of(text);
  const size_t n = u.size() - 1;
  std::vector<Span> out;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    if (u[i].cp == U' ' && i + 1 < n && !bloom_excluded(u[i + 1].cp)) {
      j = i + 1;
    } else if (bloom_excluded(u[i].cp)) {
      ++i;
      continue;
    }
    while (j < n && !bloom_excluded(u[j].cp)) ++j;
    out.emplace_back(u[i].pos, u[j].pos);
    i = j;
  }
  return out;
}

bool gpt2_other(char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); }

// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, alternatives tried in order.
std::vector<Span> gpt2_matches(std::string_view text) {
  const std::vector<Unit> u = units_of(text);
  const size_t n = u.size() - 1;
  std::vector<Span> out;

  // End of ` ?class+` starting at i, or i when that alternative fails.
  auto run = [&](size_t i, bool (*in_class)(char32_t)) {
    size_t j = i;
    if (u[j].cp == U' ' && j + 1 < n && in_class(u[j + 1].cp))
      ++j;
    else if (!in_class(u[j].cp))
      return i;
    while (j < n && in_class(u[j].cp)) ++j;
    return j;
  };

  for (size_t i = 0; i < n;) {
    size_t end = i;
    if (u[i].cp == U'\'' && i + 1 < n) {
      const char32_t a = u[i + 1].cp;
      const char32_t b = i + 2 < n ? u[i + 2].cp : kInvalidCodePoint;
      if (a == U's' || a == U't' || a == U'm' || a == U'd')
        end = i + 2;
      else if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l'))
        end = i + 3;
    }
    if (end == i) end = run(i, is_letter);
    if (end == i) end = run(i, is_number);
    if (end == i) end = run(i, gpt2_other);
    if (end == i) {
      // Only whitespace is left. `\s+(?!\S)` backs off one character so that the last space
      // before a word stays with the word; a lone space before a word falls to `\s+`.
      size_t r = i;
      while (r < n && is_whitespace(u[r].cp)) ++r;
      end = (r < n && r - i >= 2) ? r - 1 : r;
    }
    out.emplace_back(u[i].pos, u[end].pos);
    i = end;
  }
  return out;
}

std::vector<Span> literal_matches(std::string_view text, const std::string& literal) {
  std::vector<Span> out;
  if (literal.empty()) return out;
  for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, pos)) {
    out.emplace_back(pos, pos + literal.size());
    pos += literal.size();
  }
  return out;
}

}  // namespace

SplitPattern SplitPattern::from_json(const nlohmann::json& pattern) {
  if (pattern.is_object() && pattern.contains("String")) return {Kind::kLiteral, pattern.at("String").get<std::string>()};
  if (pattern.is_object() && pattern.contains("Regex")) {
    const auto source = pattern.at("Regex").get<std::string>();
    if (source == kBloomSplitRegex) return {Kind::kBloom, ""};
    if (source == kGpt2SplitRegex) return {Kind::kGpt2, ""};
    throw Error("unsupported Split regex pattern '" + source +
                "' (only BLOOM's and GPT-2's pre-tokenizer regexes are implemented)");
  }
  throw Error("Split pattern must be {\"String\": ...} or {\"Regex\": ...}, got " + pattern.dump());
}

SplitPattern SplitPattern::gpt2() { return {Kind::kGpt2, ""}; }

std::vector<Span> SplitPattern::find_matches(std::string_view text) const {
  switch (kind_) {
    case Kind::kBloom:
      return bloom_matches(text);
    case Kind::kGpt2:
      return gpt2_matches(text);
    case Kind::kLiteral:
      break;
  }
  return literal_matches(text, literal_);
}

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw Error("unknown Split behavior '" + name + "'");
}

std::vector<Span> apply_split_behavior(const std::vector<Span>& matches, size_t length, SplitBehavior behavior,
                                       bool invert) {
  struct Part {
    Span span;
    bool delimiter;
  };
  std::vector<Part> parts;
  size_t prev = 0;
  for (const Span& m : matches) {
    if (m.first > prev) parts.push_back({{prev, m.first}, invert});
    if (m.second > m.first) parts.push_back({m, !invert});
    prev = m.second;
  }
  if (prev < length) parts.push_back({{prev, length}, invert});

  std::vector<Span> out;
  bool previous_delimiter = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Part& p : parts)
        if (!p.delimiter) out.push_back(p.span);
      break;
    case SplitBehavior::kIsolated:
      for (const Part& p : parts) out.push_back(p.span);
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Part& p : parts) {
        if (p.delimiter && !previous_delimiter && !out.empty())
          out.back().second = p.span.second;
        else
          out.push_back(p.span);
        previous_delimiter = p.delimiter;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->delimiter && !previous_delimiter && !out.empty())
          out.back().first = it->span.first;
        else
          out.push_back(it->span);
        previous_delimiter = it->delimiter;
      }
      std::reverse(out.begin(), out.end());
      break;
    case SplitBehavior::kContiguous:
      for (const Part& p : parts) {
        if (!out.empty() && p.delimiter == previous_delimiter)
          out.back().second = p.span.second;
        else
          out.push_back(p.span);
        previous_delimiter = p.delimiter;
      }
      break;
  }
  return out;
}

}  // namespace medvqa::text
