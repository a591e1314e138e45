#include "text/added_tokens.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "io/error.h"
#include "text/unicode_tables.h"
#include "text/utf8.h"

namespace medvqa::text {

AddedToken AddedToken::from_json(const nlohmann::json& entry) {
  AddedToken t;
  if (!entry.is_object() || !entry.contains("id") || !entry.contains("content"))
    throw Error("added token " + entry.dump() + " lacks \"id\" or \"content\"");
  t.id = entry.at("id").get<int64_t>();
  t.content = entry.at("content").get<std::string>();
  t.single_word = entry.value("single_word", false);
  t.lstrip = entry.value("lstrip", false);
  t.rstrip = entry.value("rstrip", false);
  t.normalized = entry.value("normalized", true);
  t.special = entry.value("special", false);
  if (t.content.empty()) throw Error("added token " + std::to_string(t.id) + " has empty content");
  if (t.id < 0) throw Error("added token '" + t.content + "' has negative id");
  return t;
}

nlohmann::json AddedToken::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = id;
  j["content"] = content;
  j["single_word"] = single_word;
  j["lstrip"] = lstrip;
  j["rstrip"] = rstrip;
  j["normalized"] = normalized;
  j["special"] = special;
  return j;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    // A later duplicate wins, as when HF adds the same token twice.
    by_content_[t.content] = i;
    by_id_[t.id] = i;
  }
  for (const auto& [content, i] : by_content_)
    (tokens_[i].normalized ? normalized_index_ : raw_index_)[static_cast<unsigned char>(content[0])].push_back(i);
  for (Index* index : {&raw_index_, &normalized_index_})
    for (auto& [byte, list] : *index)
      std::sort(list.begin(), list.end(), [this](size_t a, size_t b) {
        return tokens_[a].content.size() != tokens_[b].content.size()
                   ? tokens_[a].content.size() > tokens_[b].content.size()
                   : a < b;
      });
}

namespace {

// Code point ending just before byte `pos` (pos > 0); malformed bytes read as kInvalidCodePoint.
CodePoint code_point_before(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && pos - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  const CodePoint cp = decode_utf8(text, start);
  if (start + cp.length == pos) return cp;
  return {kInvalidCodePoint, 1};
}

bool is_word_char(char32_t c) { return is_letter(c) || is_number(c) || c == U'_'; }

}  // namespace

void AddedVocabulary::split_with(const Index& index, std::string_view text, size_t begin, size_t end,
                                 std::vector<Segment>& out) const {
  size_t text_start = begin;  // start of the text not yet emitted
  for (size_t pos = begin; pos < end;) {
    const AddedToken* match = nullptr;
    if (auto it = index.find(static_cast<unsigned char>(text[pos])); it != index.end()) {
      for (size_t i : it->second) {
        const std::string& c = tokens_[i].content;
        if (c.size() <= end - pos && text.compare(pos, c.size(), c) == 0) {
          match = &tokens_[i];
          break;
        }
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + match->content.size();
    if (match->single_word &&
        ((start > begin && is_word_char(code_point_before(text, start).value)) ||
         (stop < end && is_word_char(decode_utf8(text, stop).value)))) {
      pos = stop;
      continue;
    }
    if (match->lstrip)
      while (start > text_start) {
        const CodePoint cp = code_point_before(text, start);
        if (!is_whitespace(cp.value)) break;
        start -= cp.length;
      }
    if (match->rstrip)
      while (stop < end) {
        const CodePoint cp = decode_utf8(text, stop);
        if (!is_whitespace(cp.value)) break;
        stop += cp.length;
      }
    if (start > text_start) out.push_back({text_start, start, nullptr});
    out.push_back({start, stop, match});
    pos = text_start = stop;
  }
  if (end > text_start) out.push_back({text_start, end, nullptr});
}

std::vector<AddedVocabulary::Segment> AddedVocabulary::split(std::string_view text) const {
  std::vector<Segment> raw;
  split_with(raw_index_, text, 0, text.size(), raw);
  if (normalized_index_.empty()) return raw;
  std::vector<Segment> out;
  for (const Segment& s : raw) {
    if (s.token != nullptr)
      out.push_back(s);
    else
      split_with(normalized_index_, text, s.begin, s.end, out);
  }
  return out;
}

const AddedToken* AddedVocabulary::find(const std::string& content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace medvqa::text
