#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace medvqa::io {

// 64-bit FNV-1a: a fast, stable (same on every machine and run) hash of bytes, for deciding splits
// and recognising identical files; not for anything an adversary chooses.
constexpr uint64_t kFnv1aOffset = 14695981039346656037ull;

inline uint64_t fnv1a(const void* data, size_t size, uint64_t basis = kFnv1aOffset) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = basis;
  for (size_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return h;
}

inline uint64_t fnv1a(std::string_view text, uint64_t basis = kFnv1aOffset) {
  return fnv1a(text.data(), text.size(), basis);
}

}  // namespace medvqa::io
