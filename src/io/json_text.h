#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace medvqa::io {

// JSON text of `j` with invalid UTF-8 replaced by U+FFFD. Model output (a byte-level tokenizer
// can stop inside a character) and request bytes echoed in errors may hold it, and json::dump
// throws on it: a report, an answer or an error message must still be written.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace medvqa::io
