#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "text/bpe.h"

namespace medvqa::text {

// tokenizer.json read in one pass. The model's vocab and merges (250k entries each for BLOOM) go
// straight into their final containers: building them as a JSON tree first takes seconds.
struct TokenizerJson {
  nlohmann::json config;  // the whole document, less model.vocab and model.merges when streamed
  std::optional<Bpe::Vocab> vocab;
  std::optional<std::vector<Bpe::Merge>> merges;
};

// Throws medvqa::Error for invalid JSON or malformed vocab/merges entries.
TokenizerJson parse_tokenizer_json(const std::string& text);

}  // namespace medvqa::text
