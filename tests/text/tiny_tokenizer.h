#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace medvqa::text::testing {

// A BLOOM-shaped tokenizer.json small enough to reason about: ids 0-3 <unk> <s> </s> <pad>,
// 4-259 the byte-level symbols in byte order, then one id per merge (in byte-level symbols, e.g.
// {"Ġ", "a"}). The pipeline is BLOOM's unless the caller replaces parts of it.
nlohmann::json bloom_like_json(const std::vector<std::pair<std::string, std::string>>& merges = {});

// The id of a single byte in bloom_like_json's vocabulary.
inline int64_t byte_id(unsigned char b) { return 4 + b; }

}  // namespace medvqa::text::testing
