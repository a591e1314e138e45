#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "text/bpe.h"

namespace medvqa::text {
namespace {

std::vector<int64_t> ids_of(const std::vector<Bpe::Token>& tokens) {
  std::vector<int64_t> ids;
  for (const auto& t : tokens) ids.push_back(t.id);
  return ids;
}

Bpe::Vocab abc_vocab() { return {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}, {"aa", 6}}; }

TEST(Bpe, MergesByRank) {
  EXPECT_EQ(ids_of(Bpe(abc_vocab(), {{"a", "b"}, {"ab", "c"}}).tokenize("abc")), (std::vector<int64_t>{5}));
  // "b c" outranks "a b", and nothing merges "a" with "bc".
  EXPECT_EQ(ids_of(Bpe(abc_vocab(), {{"b", "c"}, {"a", "b"}}).tokenize("abc")), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(ids_of(Bpe(abc_vocab(), {}).tokenize("cab")), (std::vector<int64_t>{2, 0, 1}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const Bpe bpe(abc_vocab(), {{"a", "a"}});
  EXPECT_EQ(ids_of(bpe.tokenize("aaa")), (std::vector<int64_t>{6, 0}));
  EXPECT_EQ(ids_of(bpe.tokenize("aaaa")), (std::vector<int64_t>{6, 6}));
  // Cached words give the same answer.
  EXPECT_EQ(ids_of(bpe.tokenize("aaa")), (std::vector<int64_t>{6, 0}));
}

TEST(Bpe, TokensCoverTheirBytes) {
  const auto tokens = Bpe(abc_vocab(), {{"a", "b"}}).tokenize("cab");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].begin, 0u);
  EXPECT_EQ(tokens[0].end, 1u);
  EXPECT_EQ(tokens[1].begin, 1u);
  EXPECT_EQ(tokens[1].end, 3u);
}

TEST(Bpe, UnknownCharactersAreDroppedOrUnk) {
  EXPECT_EQ(ids_of(Bpe(abc_vocab(), {}).tokenize("axb")), (std::vector<int64_t>{0, 1}));

  auto vocab = abc_vocab();
  vocab["<unk>"] = 9;
  BpeOptions options;
  options.unk_token = "<unk>";
  EXPECT_EQ(ids_of(Bpe(vocab, {}, options).tokenize("axxb")), (std::vector<int64_t>{0, 9, 9, 1}));
  options.fuse_unk = true;
  const auto fused = Bpe(vocab, {}, options).tokenize("axxb");
  EXPECT_EQ(ids_of(fused), (std::vector<int64_t>{0, 9, 1}));
  EXPECT_EQ(fused[1].begin, 1u);
  EXPECT_EQ(fused[1].end, 3u);
}

TEST(Bpe, ByteFallback) {
  auto vocab = abc_vocab();
  vocab["<0xC3>"] = 10;
  vocab["<0xA9>"] = 11;
  BpeOptions options;
  options.byte_fallback = true;
  EXPECT_EQ(ids_of(Bpe(vocab, {}, options).tokenize("a\xC3\xA9")), (std::vector<int64_t>{0, 10, 11}));
}

TEST(Bpe, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  BpeOptions prefix;
  prefix.continuing_subword_prefix = "##";
  const Bpe with_prefix({{"a", 0}, {"##b", 1}, {"ab", 2}}, {{"a", "##b"}}, prefix);
  EXPECT_EQ(ids_of(with_prefix.tokenize("ab")), (std::vector<int64_t>{2}));
  EXPECT_EQ(ids_of(with_prefix.tokenize("abb")), (std::vector<int64_t>{2, 1}));

  BpeOptions suffix;
  suffix.end_of_word_suffix = "</w>";
  const Bpe with_suffix({{"a", 0}, {"b</w>", 1}, {"ab</w>", 2}}, {{"a", "b</w>"}}, suffix);
  EXPECT_EQ(ids_of(with_suffix.tokenize("ab")), (std::vector<int64_t>{2}));
}

TEST(Bpe, IgnoreMergesTakesWholeWords) {
  BpeOptions options;
  options.ignore_merges = true;
  // No merge builds "abc", yet the word is in the vocabulary.
  EXPECT_EQ(ids_of(Bpe(abc_vocab(), {}, options).tokenize("abc")), (std::vector<int64_t>{5}));
}

TEST(Bpe, InconsistentDataIsAnError) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { Bpe(abc_vocab(), {{"a", "z"}}); }).find("unknown token 'z'"), std::string::npos);
  EXPECT_NE(message([] { Bpe(abc_vocab(), {{"c", "a"}}); }).find("'ca', which is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(message([] { Bpe({{"a", 0}, {"b", 0}}, {}); }).find("share id 0"), std::string::npos);
  EXPECT_NE(message([] { Bpe({{"a", -1}}, {}); }).find("outside"), std::string::npos);
  BpeOptions options;
  options.unk_token = "<unk>";
  EXPECT_NE(message([&] { Bpe(abc_vocab(), {}, options); }).find("unk_token '<unk>'"), std::string::npos);
}

TEST(Bpe, JsonRoundTripAcceptsBothMergeForms) {
  const nlohmann::json strings = {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}};
  const nlohmann::json pairs = {
      {"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", nlohmann::json::array({nlohmann::json::array({"a", "b"})})}};
  for (const auto& j : {strings, pairs}) {
    const Bpe bpe = Bpe::from_json(j);
    EXPECT_EQ(ids_of(bpe.tokenize("ab")), (std::vector<int64_t>{2}));
    const Bpe again = Bpe::from_json(nlohmann::json::parse(bpe.to_json()));
    EXPECT_EQ(again.merges(), bpe.merges());
    EXPECT_EQ(again.vocab(), bpe.vocab());
  }
  EXPECT_THROW(Bpe::from_json({{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", {"ab"}}}), Error);
  EXPECT_THROW(Bpe::from_json({{"type", "WordPiece"}, {"vocab", {{"a", 0}}}}), Error);
  EXPECT_THROW(Bpe::from_json({{"type", "BPE"}, {"merges", nlohmann::json::array()}}), Error);
  EXPECT_THROW(Bpe::from_json({{"type", "BPE"}, {"vocab", {{"a", "x"}}}}), Error);
  EXPECT_THROW(Bpe::from_json({{"type", "BPE"}, {"dropout", 0.1}, {"vocab", {{"a", 0}}}}), Error);
}

TEST(Bpe, MergesWithSpacesAreWrittenAsPairs) {
  const Bpe bpe({{"a ", 0}, {"b", 1}, {"a b", 2}}, {{"a ", "b"}});
  const auto j = nlohmann::json::parse(bpe.to_json());
  EXPECT_TRUE(j.at("merges").at(0).is_array());
  EXPECT_EQ(Bpe::from_json(j).merges(), bpe.merges());
}

}  // namespace
}  // namespace medvqa::text
