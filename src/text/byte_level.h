#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace medvqa::text {

// GPT-2's byte-level alphabet: every byte is shown as one printable code point (printable Latin-1
// bytes as themselves, the rest as U+0100 onwards in byte order), so BPE vocabularies never contain
// raw control bytes or spaces ("Ġ" is the space byte).
char32_t byte_to_symbol(unsigned char byte);

// Each byte of `bytes` replaced by its symbol, UTF-8 encoded.
std::string bytes_to_symbols(std::string_view bytes);

// The inverse; nullopt when `symbols` contains a code point outside the alphabet (or is not UTF-8).
std::optional<std::string> symbols_to_bytes(std::string_view symbols);

}  // namespace medvqa::text
