#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "text/pre_tokenizer.h"
#include "text/split_pattern.h"

namespace medvqa::text {
namespace {

std::vector<std::string> cut(std::string_view text, const std::vector<Span>& spans) {
  std::vector<std::string> out;
  for (const Span& s : spans) out.emplace_back(text.substr(s.first, s.second - s.first));
  return out;
}

std::vector<std::string> bloom_pieces(std::string_view text) {
  const auto pattern = SplitPattern::from_json({{"Regex", kBloomSplitRegex}});
  return cut(text, apply_split_behavior(pattern.find_matches(text), text.size(), SplitBehavior::kIsolated, false));
}

std::vector<std::string> gpt2_pieces(std::string_view text) { return cut(text, SplitPattern::gpt2().find_matches(text)); }

using Pieces = std::vector<std::string>;

TEST(BloomSplit, PunctuationParenthesesAndPipesStandAlone) {
  EXPECT_EQ(bloom_pieces("Hello, world (x|y)."), (Pieces{"Hello", ",", " world", " (", "x", "|", "y", ")."}));
  EXPECT_EQ(bloom_pieces("[x]{y}"), (Pieces{"[x]{y}"}));  // only ( ) | are special among brackets
  EXPECT_EQ(bloom_pieces("a\xE2\x80\xA6" "b\xE3\x80\x82" "c"), (Pieces{"a", "\xE2\x80\xA6", "b", "\xE3\x80\x82", "c"}));
}

TEST(BloomSplit, OnlyOneSpaceJoinsTheNextWord) {
  EXPECT_EQ(bloom_pieces("a  b"), (Pieces{"a", " ", " b"}));
  EXPECT_EQ(bloom_pieces(" a"), (Pieces{" a"}));
  EXPECT_EQ(bloom_pieces("a\tb\nc"), (Pieces{"a", "\t", "b", "\n", "c"}));
  EXPECT_EQ(bloom_pieces("a ."), (Pieces{"a", " ."}));
  EXPECT_EQ(bloom_pieces(""), Pieces{});
}

TEST(BloomSplit, UnicodeWhitespaceSplitsButZeroWidthSpaceDoesNot) {
  EXPECT_EQ(bloom_pieces("a\xC2\xA0" "b"), (Pieces{"a", "\xC2\xA0", "b"}));          // NBSP
  EXPECT_EQ(bloom_pieces("a\xE3\x80\x80" "b"), (Pieces{"a", "\xE3\x80\x80", "b"}));  // ideographic space
  EXPECT_EQ(bloom_pieces("a\xE2\x80\xAF" "b"), (Pieces{"a", "\xE2\x80\xAF", "b"}));  // narrow NBSP
  EXPECT_EQ(bloom_pieces("a\xE2\x80\x8B" "b"), (Pieces{"a\xE2\x80\x8B" "b"}));       // zero-width space
}

TEST(Gpt2Split, WordsNumbersPunctuationAndContractions) {
  EXPECT_EQ(gpt2_pieces("Hello world's  test 123!!\n\n x"),
            (Pieces{"Hello", " world", "'s", " ", " test", " 123", "!!", "\n\n", " x"}));
  EXPECT_EQ(gpt2_pieces("I'm don't we'll 'S"), (Pieces{"I", "'m", " don", "'t", " we", "'ll", " '", "S"}));
  EXPECT_EQ(gpt2_pieces("abc123def"), (Pieces{"abc", "123", "def"}));
  EXPECT_EQ(gpt2_pieces("!'s"), (Pieces{"!'", "s"}));
}

TEST(Gpt2Split, WhitespaceRuns) {
  EXPECT_EQ(gpt2_pieces("a   "), (Pieces{"a", "   "}));
  EXPECT_EQ(gpt2_pieces("a \n"), (Pieces{"a", " \n"}));
  EXPECT_EQ(gpt2_pieces("\nb"), (Pieces{"\n", "b"}));
  EXPECT_EQ(gpt2_pieces("x\xC2\xA0y"), (Pieces{"x", "\xC2\xA0", "y"}));
  EXPECT_EQ(gpt2_pieces(" \xC2\xA0y"), (Pieces{" ", "\xC2\xA0", "y"}));
}

TEST(Gpt2Split, UnicodeLettersAndNumbers) {
  EXPECT_EQ(gpt2_pieces("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"), (Pieces{"caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC"}));
  EXPECT_EQ(gpt2_pieces("x\xD9\xA3\xC2\xB2"), (Pieces{"x", "\xD9\xA3\xC2\xB2"}));  // Arabic-Indic 3, superscript 2
  EXPECT_EQ(gpt2_pieces("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok"), (Pieces{"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", " ok"}));
}

TEST(SplitBehavior, MatchesHfDocumentation) {
  const std::string text = "the-final--countdown";
  const auto pattern = SplitPattern::from_json({{"String", "-"}});
  const auto matches = pattern.find_matches(text);
  auto run = [&](SplitBehavior b, bool invert = false) {
    return cut(text, apply_split_behavior(matches, text.size(), b, invert));
  };
  EXPECT_EQ(run(SplitBehavior::kRemoved), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::kIsolated), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::kMergedWithPrevious), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::kMergedWithNext), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(SplitBehavior::kContiguous), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::kRemoved, /*invert=*/true), (Pieces{"-", "-", "-"}));
}

TEST(SplitPattern, UnknownPatternsAreErrors) {
  EXPECT_THROW(SplitPattern::from_json({{"Regex", "\\w+"}}), Error);
  EXPECT_THROW(SplitPattern::from_json("x"), Error);
  EXPECT_THROW(parse_split_behavior("Isolate"), Error);
}

TEST(PreTokenizer, ByteLevelPrefixesEveryPieceAndSplitsWithGpt2Pattern) {
  const auto p = PreTokenizer::from_json(
      {{"type", "Sequence"},
       {"pretokenizers",
        nlohmann::json::array({{{"type", "Split"}, {"pattern", {{"String", "|"}}}, {"behavior", "Removed"}},
                               {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}})}});
  EXPECT_TRUE(p.byte_level());
  const std::string text = "ab cd| ef";
  const auto pieces = p.split(text, 0, text.size());
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(text.substr(pieces[0].begin, pieces[0].end - pieces[0].begin), "ab");
  EXPECT_TRUE(pieces[0].prefix_space);
  EXPECT_EQ(text.substr(pieces[1].begin, pieces[1].end - pieces[1].begin), " cd");
  EXPECT_FALSE(pieces[1].prefix_space);
  EXPECT_EQ(text.substr(pieces[2].begin, pieces[2].end - pieces[2].begin), " ef");
  EXPECT_FALSE(pieces[2].prefix_space);  // already starts with a space
}

TEST(PreTokenizer, NullKeepsTheTextWholeAndUnknownTypesAreErrors) {
  const auto p = PreTokenizer::from_json(nullptr);
  const auto pieces = p.split("hello world", 0, 11);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].end, 11u);
  EXPECT_FALSE(p.byte_level());
  EXPECT_THROW(PreTokenizer::from_json({{"type", "Whitespace"}}), Error);
  EXPECT_THROW(PreTokenizer::from_json({{"type", "Sequence"},
                                        {"pretokenizers", nlohmann::json::array({{{"type", "ByteLevel"}},
                                                                                 {{"type", "Digits"}}})}}),
               Error);
}

}  // namespace
}  // namespace medvqa::text
