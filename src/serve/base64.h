#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace medvqa::serve {

// Standard base64 (RFC 4648; whitespace skipped, padding optional). Throws medvqa::Error on any
// other character or a truncated quantum.
std::vector<uint8_t> base64_decode(const std::string& text);
std::string base64_encode(const uint8_t* data, size_t size);

}  // namespace medvqa::serve
