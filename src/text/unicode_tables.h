#pragma once

namespace medvqa::text {

// Unicode general categories L* and N*, as \p{L} and \p{N} in the GPT-2 pre-tokenizer regex.
bool is_letter(char32_t c);
bool is_number(char32_t c);

// Oniguruma's Unicode \s, which is what HF tokenizers' regexes see: U+0009-U+000D, U+0085 and the
// categories Zs, Zl, Zp. NBSP, ideographic and thin spaces count; zero-width space does not.
constexpr bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace medvqa::text
