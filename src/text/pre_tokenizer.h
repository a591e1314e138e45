#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>
#include <vector>

#include "text/split_pattern.h"

namespace medvqa::text {

// A word the model encodes on its own: the input bytes [begin, end), preceded by one space when
// ByteLevel(add_prefix_space) inserted it.
struct Piece {
  size_t begin;
  size_t end;
  bool prefix_space = false;
};

// The tokenizer.json "pre_tokenizer": Sequence, Split (see SplitPattern) and ByteLevel, the last
// of which must come last since it changes the alphabet the pieces are written in.
class PreTokenizer {
 public:
  // `config` may be null (the whole text is one piece). Unsupported types are a medvqa::Error.
  static PreTokenizer from_json(const nlohmann::json& config);

  // Pieces of text[begin, end), in order; empty pieces are dropped.
  std::vector<Piece> split(std::string_view text, size_t begin, size_t end) const;

  // Whether the model sees the pieces in the byte-level alphabet.
  bool byte_level() const { return byte_level_; }
  const nlohmann::json& config() const { return config_; }

 private:
  struct SplitStep {
    SplitPattern pattern;
    SplitBehavior behavior;
    bool invert;
  };
  struct ByteLevelStep {
    bool add_prefix_space;
    bool use_regex;
  };

  PreTokenizer() = default;
  void add_step(const nlohmann::json& config);

  std::vector<SplitStep> splits_;
  std::optional<ByteLevelStep> byte_level_step_;
  bool byte_level_ = false;
  nlohmann::json config_;
};

}  // namespace medvqa::text
