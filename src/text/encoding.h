#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "text/split_pattern.h"

namespace medvqa::text {

// The result of encoding one text, token by token.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
  // Bytes of the input each token stands for. A byte-level token holding part of a multi-byte
  // character covers only those bytes; tokens a post-processor inserted have (0, 0).
  std::vector<Span> offsets;

  void push_back(int64_t id, std::string token, Span offset) {
    ids.push_back(id);
    tokens.push_back(std::move(token));
    offsets.push_back(offset);
  }
};

}  // namespace medvqa::text
