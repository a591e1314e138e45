#include <gtest/gtest.h>

#include <set>

#include "text/byte_level.h"

namespace medvqa::text {
namespace {

TEST(ByteLevel, AlphabetIsGpt2s) {
  EXPECT_EQ(byte_to_symbol(' '), U'\u0120');   // Ġ
  EXPECT_EQ(byte_to_symbol('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(byte_to_symbol('A'), U'A');
  EXPECT_EQ(byte_to_symbol(0xE9), U'\u00E9');
  EXPECT_EQ(byte_to_symbol(0xA0), U'\u0142');  // ł, as in the NBSP golden case
  EXPECT_EQ(byte_to_symbol(0xAD), U'\u0143');
  std::set<char32_t> symbols;
  for (int b = 0; b < 256; ++b) symbols.insert(byte_to_symbol(static_cast<unsigned char>(b)));
  EXPECT_EQ(symbols.size(), 256u);
}

TEST(ByteLevel, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string symbols = bytes_to_symbols(all);
  EXPECT_EQ(symbols_to_bytes(symbols), all);
  EXPECT_EQ(bytes_to_symbols("a b"), "a\xC4\xA0" "b");
}

TEST(ByteLevel, TextOutsideTheAlphabetIsRejected) {
  EXPECT_EQ(symbols_to_bytes(" "), std::nullopt);  // a raw space is not a symbol
  EXPECT_EQ(symbols_to_bytes("\xE2\x80\xA6"), std::nullopt);
  EXPECT_EQ(symbols_to_bytes("\xC4"), std::nullopt);
  EXPECT_EQ(symbols_to_bytes(""), std::string());
}

}  // namespace
}  // namespace medvqa::text
