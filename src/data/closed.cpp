#include "data/closed.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "data/normalize.h"

namespace medvqa::data {
namespace {

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> words;
  std::istringstream in(s);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string join(std::vector<std::string>::const_iterator begin, std::vector<std::string>::const_iterator end) {
  std::string out;
  for (auto it = begin; it != end; ++it) out += (out.empty() ? "" : " ") + *it;
  return out;
}

bool is_article(const std::string& w) { return w == "a" || w == "an" || w == "the"; }

std::vector<std::string> strip_articles(std::vector<std::string> words) {
  while (!words.empty() && is_article(words.front())) words.erase(words.begin());
  return words;
}

bool is_auxiliary(const std::string& w) {
  static const std::set<std::string> aux = {"is",   "are",   "is/are", "was",   "were",  "does",  "do",
                                            "did",  "doe",   "can",    "could", "has",   "have",  "had",
                                            "will", "would", "should", "may",   "might", "must",  "shall"};
  return aux.count(w) != 0;
}

// Words after which the right-hand option is over: the rest of the sentence qualifies both
// options ("superior or inferior to the diaphragm", "an AP or PA film").
bool ends_option(const std::string& w) {
  static const std::set<std::string> stop = {
      "of",   "than",  "to",    "in",     "on",    "at",    "for",   "from",     "within",     "near",
      "by",   "with",  "used",  "seen",   "found", "made",  "be",    "located",  "present",    "highlighted",
      "image", "film", "scan",  "scanner", "plane", "mass", "lesion", "appearance"};
  return stop.count(w) != 0;
}

// Options of "... A or B ..." where `or_pos` is the position of " or " in `s`.
std::vector<std::string> either_or_options(const std::string& s, size_t or_pos) {
  std::string left = s.substr(0, or_pos);
  // A lead-in clause ends at a colon or a dash: "what is the cause: medical process or ...".
  for (const char* sep : {":", "- "})
    if (const size_t at = left.rfind(sep); at != std::string::npos) left = left.substr(at + std::string(sep).size());

  std::vector<std::string> right;
  for (const std::string& w : strip_articles(words_of(s.substr(or_pos + 4)))) {
    if (!right.empty() && ends_option(w)) break;
    const bool clause_ends = w.back() == ',';
    right.push_back(clause_ends ? w.substr(0, w.size() - 1) : w);
    if (clause_ends) break;
  }
  if (right.empty()) return {};
  const size_t k = right.size();

  // Comma-separated parts: "which is bigger, lung, liver or heart" lists an option per part after
  // the lead-in; with a serial comma (", or") the lead-in part ends in an option too.
  std::vector<std::string> parts;
  std::istringstream in(left);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  const bool serial_comma = !left.empty() && left.back() == ',';
  std::vector<std::vector<std::string>> options;
  if (parts.size() <= 1 || serial_comma) {
    // The lead-in's option is as long as its neighbour: "t1 weighted, t2 weighted, or flair".
    const size_t n = parts.size() > 1 ? strip_articles(words_of(parts[1])).size() : k;
    const auto lead = parts.empty() ? std::vector<std::string>{} : words_of(parts[0]);
    options.push_back(strip_articles(std::vector<std::string>(lead.end() - std::min(n, lead.size()), lead.end())));
  }
  for (size_t i = 1; i < parts.size(); ++i) options.push_back(strip_articles(words_of(parts[i])));
  options.push_back(right);

  std::vector<std::string> out;
  for (const auto& words : options) {
    const std::string option = join(words.begin(), words.end());
    if (!option.empty() && std::find(out.begin(), out.end(), option) == out.end()) out.push_back(option);
  }
  if (out.size() < 2) return {};
  return out;
}

}  // namespace

bool is_closed_question(const VqaExample& example) { return example.answer_type == "CLOSED"; }

std::vector<std::string> closed_candidates(const std::string& question) {
  const std::string s = normalize_answer(question);
  const std::vector<std::string> words = words_of(s);
  if (words.empty()) return {};
  // "Is there A or B?" and "Any A or B?" ask whether either is present.
  const bool existential = words[0] == "any" || (is_auxiliary(words[0]) && words.size() > 1 && words[1] == "there");
  if (const size_t at = s.find(" or "); at != std::string::npos && !existential) {
    auto options = either_or_options(s, at);
    if (!options.empty()) return options;
  }
  if (existential || is_auxiliary(words[0])) return {"yes", "no"};
  return {};
}

}  // namespace medvqa::data
