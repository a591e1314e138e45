#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace medvqa::text {

// An entry of tokenizer.json "added_tokens": a string that is cut out of the input whole, before
// pre-tokenization, and always becomes `id`.
struct AddedToken {
  int64_t id = 0;
  std::string content;
  bool single_word = false;  // only when not inside a word
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = true;    // matched after normalization rather than on the raw text
  bool special = false;      // dropped by decode(skip_special_tokens)

  static AddedToken from_json(const nlohmann::json& entry);
  nlohmann::json to_json() const;
};

// The added tokens and the leftmost-longest matching that finds them in a text.
class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  explicit AddedVocabulary(std::vector<AddedToken> tokens);

  // A stretch of the input: an added token, or text for the model when `token` is null.
  struct Segment {
    size_t begin;
    size_t end;
    const AddedToken* token;
  };
  // Cuts text[0, size) into segments. The raw-text tokens are matched first, then the normalized
  // ones inside what is left (no normalizer is supported, so both see the same bytes).
  std::vector<Segment> split(std::string_view text) const;

  const AddedToken* find(const std::string& content) const;
  const AddedToken* find(int64_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // Positions in tokens_ (not pointers, so copies stay valid) by first byte, longest first.
  using Index = std::unordered_map<unsigned char, std::vector<size_t>>;
  void split_with(const Index& index, std::string_view text, size_t begin, size_t end,
                  std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  Index raw_index_;
  Index normalized_index_;
  std::unordered_map<std::string, size_t> by_content_;
  std::unordered_map<int64_t, size_t> by_id_;
};

}  // namespace medvqa::text
