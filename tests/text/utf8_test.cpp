#include <gtest/gtest.h>

#include "text/utf8.h"

namespace medvqa::text {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, DecodesEveryLength) {
  const std::string s = "a\xC3\xA9\xE2\x80\xA6\xF0\x9F\xAB\x81";  // a é … 🫁
  EXPECT_EQ(decode_utf8(s, 0).value, U'a');
  EXPECT_EQ(decode_utf8(s, 1).value, U'\u00e9');
  EXPECT_EQ(decode_utf8(s, 1).length, 2u);
  EXPECT_EQ(decode_utf8(s, 3).value, U'\u2026');
  EXPECT_EQ(decode_utf8(s, 6).value, U'\U0001FAC1');
  EXPECT_EQ(decode_utf8(s, 6).length, 4u);
  EXPECT_TRUE(is_valid_utf8(s));
}

TEST(Utf8, AppendInvertsDecode) {
  for (char32_t c : {U'\0', U'~', U'\u0080', U'\u07FF', U'\u0800', U'\uFFFD', U'\U00010000', U'\U0010FFFF'}) {
    std::string s;
    append_utf8(s, c);
    EXPECT_EQ(decode_utf8(s, 0).value, c);
    EXPECT_EQ(decode_utf8(s, 0).length, s.size());
  }
}

// One U+FFFD per maximal invalid subpart, as Rust's String::from_utf8_lossy (HF's decoders).
TEST(Utf8, LossyReplacesLikeRust) {
  EXPECT_EQ(utf8_lossy("ok"), "ok");
  EXPECT_EQ(utf8_lossy("a\xE2\x80"), "a" + kReplacement);                 // truncated 3-byte
  EXPECT_EQ(utf8_lossy("\xF0\x9F\xAB" "b"), kReplacement + "b");          // truncated 4-byte
  EXPECT_EQ(utf8_lossy("\x80\x80"), kReplacement + kReplacement);         // stray continuations
  EXPECT_EQ(utf8_lossy("\xC0\x80"), kReplacement + kReplacement);         // overlong
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(utf8_lossy("\xE2\x80\xA6"), "\xE2\x80\xA6");
  EXPECT_FALSE(is_valid_utf8("\xE2\x80"));
}

}  // namespace
}  // namespace medvqa::text
