#include "text/utf8.h"

namespace medvqa::text {

namespace {
bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }
}  // namespace

CodePoint decode_utf8(std::string_view s, size_t pos) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) return {b0, 1};

  // Allowed range of the second byte depends on the lead byte (this excludes overlong forms,
  // surrogates and code points above U+10FFFF); later bytes are plain continuations.
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {kInvalidCodePoint, 1};
  }

  size_t len = 1;
  while (len < need && pos + len < s.size()) {
    const auto b = static_cast<unsigned char>(s[pos + len]);
    const bool ok = len == 1 ? (b >= lo && b <= hi) : is_continuation(b);
    if (!ok) break;
    value = (value << 6) | (b & 0x3F);
    ++len;
  }
  if (len < need) return {kInvalidCodePoint, len};
  return {value, len};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t pos = 0; pos < bytes.size();) {
    const CodePoint cp = decode_utf8(bytes, pos);
    if (cp.value == kInvalidCodePoint)
      append_utf8(out, 0xFFFD);
    else
      out.append(bytes.substr(pos, cp.length));
    pos += cp.length;
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const CodePoint cp = decode_utf8(s, pos);
    if (cp.value == kInvalidCodePoint) return false;
    pos += cp.length;
  }
  return true;
}

}  // namespace medvqa::text
