#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace medvqa::text {

namespace {

struct Alphabet {
  std::array<char32_t, 256> symbol{};
  // Every symbol is below U+0144 (0x100 + the 68 non-printable bytes).
  std::array<int, 0x144> byte{};

  Alphabet() {
    byte.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      symbol[b] = printable ? static_cast<char32_t>(b) : next++;
      byte[symbol[b]] = b;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

char32_t byte_to_symbol(unsigned char byte) { return alphabet().symbol[byte]; }

std::string bytes_to_symbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, byte_to_symbol(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> symbols_to_bytes(std::string_view symbols) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(symbols.size());
  for (size_t pos = 0; pos < symbols.size();) {
    const CodePoint cp = decode_utf8(symbols, pos);
    if (cp.value >= a.byte.size()) return std::nullopt;
    const int b = a.byte[cp.value];
    if (b < 0) return std::nullopt;
    out += static_cast<char>(b);
    pos += cp.length;
  }
  return out;
}

}  // namespace medvqa::text
