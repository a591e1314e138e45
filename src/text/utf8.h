#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace medvqa::text {

// Marks a malformed byte sequence; no Unicode class contains it.
constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

struct CodePoint {
  char32_t value;  // kInvalidCodePoint for a malformed sequence
  size_t length;   // bytes consumed, >= 1
};

// Decodes the code point starting at s[pos] (pos < s.size()). A malformed sequence is reported as
// one unit spanning its maximal valid prefix (at least one byte), so callers can walk arbitrary bytes
// and, when decoding lossily, emit one U+FFFD per unit exactly as Rust's String::from_utf8_lossy.
CodePoint decode_utf8(std::string_view s, size_t pos);

void append_utf8(std::string& out, char32_t c);

// Valid UTF-8 unchanged; every malformed unit replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

bool is_valid_utf8(std::string_view s);

}  // namespace medvqa::text
