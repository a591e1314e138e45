#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/error.h"
#include "testing/testing.h"
#include "text/decoder.h"
#include "text/tokenizer.h"
#include "tiny_tokenizer.h"

namespace medvqa::text {
namespace {

using nlohmann::json;
using testing::bloom_like_json;
using testing::byte_id;
using Ids = std::vector<int64_t>;

Tokenizer load(const json& j) { return Tokenizer::from_json(j.dump(), "test.json"); }

// Success when `f` throws medvqa::Error whose message contains every one of `parts`.
::testing::AssertionResult throws_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts)
      if (what.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks '" << p << "': " << what;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a medvqa::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "no exception";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(Tokenizer, MalformedJsonIsAnErrorNamingTheProblem) {
  auto bad = [](const std::string& text, const std::vector<std::string>& parts) {
    return throws_error([&] { Tokenizer::from_json(text, "bad/tokenizer.json"); }, parts);
  };
  auto bad_json = [&](const std::function<void(json&)>& edit, const std::vector<std::string>& parts) {
    json j = bloom_like_json({{"a", "b"}});
    edit(j);
    return bad(j.dump(), parts);
  };
  EXPECT_TRUE(bad("{\"model\": ", {"bad/tokenizer.json", "invalid JSON"}));
  EXPECT_TRUE(bad("[]", {"bad/tokenizer.json", "JSON object"}));
  EXPECT_TRUE(bad("{}", {"bad/tokenizer.json", "no \"model\""}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"] = 5; }, {"bad/tokenizer.json", "\"model\" must be an object"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["type"] = "WordPiece"; }, {"model type 'WordPiece'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["merges"].push_back("a zz"); }, {"unknown token 'zz'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["vocab"]["a"] = "one"; }, {"vocab entry 'a'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["vocab"]["a"] = -4; }, {"vocab entry 'a'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["vocab"] = json::array(); }, {"no \"vocab\" object"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["merges"].push_back(5); }, {"merge #1"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["merges"].push_back("ab"); }, {"merge #1"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["merges"].push_back(json::array({"a"})); }, {"merge #1"}));
  EXPECT_TRUE(bad_json([](json& j) { j["model"]["unk_token"] = 3; }, {"bad/tokenizer.json", "malformed"}));
  EXPECT_TRUE(bad_json([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; }, {"normalizer type 'NFKC'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; }, {"pre_tokenizer type 'Metaspace'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+"; },
                       {"unsupported Split regex pattern '\\s+'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }, {"decoder type 'WordPiece'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["post_processor"] = {{"type", "Fancy"}}; }, {"post_processor type 'Fancy'"}));
  EXPECT_TRUE(bad_json([](json& j) { j["added_tokens"].push_back({{"content", "<x>"}}); }, {"lacks \"id\""}));
}

TEST(Tokenizer, MissingOrBrokenFilesAreErrorsNamingThePath) {
  medvqa::testing::TempDir dir;
  EXPECT_TRUE(throws_error([&] { Tokenizer::from_file(dir.file("nope.json")); }, {dir.file("nope.json")}));
  EXPECT_TRUE(throws_error([&] { Tokenizer::from_file(dir.path()); }, {dir.file("tokenizer.json")}));
  write(dir.file("tokenizer.json"), "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {");
  EXPECT_TRUE(throws_error([&] { Tokenizer::from_file(dir.path()); }, {dir.file("tokenizer.json"), "invalid JSON"}));
}

TEST(Tokenizer, LoadsFromADirectoryAndReadsSpecialTokensMap) {
  medvqa::testing::TempDir dir;
  write(dir.file("tokenizer.json"), bloom_like_json().dump());
  const Tokenizer plain = Tokenizer::from_file(dir.file("tokenizer.json"));
  EXPECT_EQ(plain.unk_id(), 0);
  EXPECT_EQ(plain.bos_id(), 1);
  EXPECT_EQ(plain.eos_id(), 2);
  EXPECT_EQ(plain.pad_id(), 3);

  write(dir.file("special_tokens_map.json"), R"({"eos_token": {"content": "<pad>"}, "pad_token": "</s>"})");
  const Tokenizer mapped = Tokenizer::from_file(dir.path());
  EXPECT_EQ(mapped.eos_id(), 3);
  EXPECT_EQ(mapped.pad_id(), 2);
  EXPECT_EQ(mapped.bos_id(), 1);
}

TEST(Tokenizer, Gpt2StyleSpecialTokenServesAsBosAndEos) {
  json j = bloom_like_json();
  for (const char* name : {"<unk>", "<s>", "</s>", "<pad>"}) j["model"]["vocab"].erase(name);
  j["added_tokens"] = json::array({{{"id", 260}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}}});
  const Tokenizer t = load(j);
  EXPECT_EQ(t.bos_id(), 260);
  EXPECT_EQ(t.eos_id(), 260);
  EXPECT_EQ(t.pad_id(), std::nullopt);
  EXPECT_EQ(t.unk_id(), std::nullopt);
  EXPECT_EQ(t.vocab_size(), 261);
}

TEST(Tokenizer, SpecialTokensAreMatchedBeforePreTokenization) {
  const Tokenizer t = load(bloom_like_json({{"\xC4\xA0", "w"}}));  // "Ġ w"
  const Encoding e = t.encode_with_offsets("<s>hi</s> w<pad");
  const int64_t gw = *t.token_to_id("\xC4\xA0w");
  EXPECT_EQ(e.ids, (Ids{1, byte_id('h'), byte_id('i'), 2, gw, byte_id('<'), byte_id('p'), byte_id('a'), byte_id('d')}));
  EXPECT_EQ(e.tokens[0], "<s>");
  EXPECT_EQ(e.tokens[4], "\xC4\xA0w");
  EXPECT_EQ(e.offsets[3], (Span{5, 9}));
  EXPECT_EQ(e.offsets[4], (Span{9, 11}));
  EXPECT_EQ(t.decode(e.ids), "<s>hi</s> w<pad");
  EXPECT_EQ(t.decode(e.ids, /*skip_special_tokens=*/true), "hi w<pad");
}

TEST(Tokenizer, TemplateProcessingAddsTokensUnlessAskedNot) {
  json j = bloom_like_json();
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
      {"pair", json::array()},
      {"special_tokens",
       {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}},
        {"</s>", {{"id", "</s>"}, {"ids", {2}}, {"tokens", {"</s>"}}}}}}};
  const Tokenizer t = load(j);
  const Encoding e = t.encode_with_offsets("hi");
  EXPECT_EQ(e.ids, (Ids{1, byte_id('h'), byte_id('i'), 2}));
  EXPECT_EQ(e.offsets.front(), (Span{0, 0}));
  EXPECT_EQ(e.offsets[1], (Span{0, 1}));
  EXPECT_EQ(t.encode("hi", /*add_special_tokens=*/false), (Ids{byte_id('h'), byte_id('i')}));
  EXPECT_EQ(t.decode(e.ids, true), "hi");

  // The same through BertProcessing, inside a Sequence.
  j["post_processor"] = {{"type", "Sequence"},
                         {"processors", json::array({{{"type", "ByteLevel"}, {"trim_offsets", false}},
                                                     {{"type", "BertProcessing"},
                                                      {"sep", json::array({"</s>", 2})},
                                                      {"cls", json::array({"<s>", 1})}}})}};
  EXPECT_EQ(load(j).encode("hi"), e.ids);
  EXPECT_EQ(Tokenizer::from_json(load(j).to_json(), "rewritten").encode("hi"), e.ids);
}

TEST(Tokenizer, Gpt2StylePipelineAddsPrefixSpaceAndTrimsOffsets) {
  json j = bloom_like_json({{"\xC4\xA0", "H"}, {"\xC4\xA0", "t"}, {"\xC4\xA0t", "h"}});
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}};
  const Tokenizer t = load(j);
  const Encoding e = t.encode_with_offsets("Hi there");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"\xC4\xA0H", "i", "\xC4\xA0th", "e", "r", "e"}));
  EXPECT_EQ(e.offsets[0], (Span{0, 1}));  // the inserted space is not trimmed away
  EXPECT_EQ(e.offsets[2], (Span{3, 5}));  // " th" loses its space
  EXPECT_EQ(t.decode(e.ids), " Hi there");
}

TEST(Tokenizer, AddedTokenStripAndSingleWordOptions) {
  json j = bloom_like_json();
  j["added_tokens"].push_back({{"id", 300}, {"content", "<m>"}, {"lstrip", true}, {"rstrip", false}, {"special", true}});
  j["added_tokens"].push_back({{"id", 301}, {"content", "ab"}, {"single_word", true}, {"special", false}});
  const Tokenizer t = load(j);
  const Encoding e = t.encode_with_offsets("x  <m> y");
  EXPECT_EQ(e.ids, (Ids{byte_id('x'), 300, byte_id(' '), byte_id('y')}));
  EXPECT_EQ(e.offsets[1], (Span{1, 6}));
  EXPECT_EQ(t.encode("ab cab"), (Ids{301, byte_id(' '), byte_id('c'), byte_id('a'), byte_id('b')}));
  EXPECT_EQ(t.vocab_size(), 302);
}

TEST(Tokenizer, MergePairsAndTablesOutsideTheModelAreRead) {
  json strings = bloom_like_json({{"a", "b"}, {"ab", "c"}});
  json pairs = strings;
  pairs["model"]["merges"] = json::array({json::array({"a", "b"}), json::array({"ab", "c"})});
  // Only model.vocab is the vocabulary; a "vocab" elsewhere stays part of the configuration.
  pairs["decoder"]["vocab"] = {{"x", 1}};
  const Tokenizer t = load(pairs);
  EXPECT_EQ(t.encode("abc ab"), load(strings).encode("abc ab"));
  EXPECT_EQ(json::parse(t.to_json())["decoder"]["vocab"]["x"], 1);
}

TEST(Tokenizer, DecodeSkipsUnknownIdsAndReplacesBrokenUtf8) {
  const Tokenizer t = load(bloom_like_json());
  EXPECT_EQ(t.decode({byte_id(0xE2), byte_id(0x80), byte_id(0xA6)}), "\xE2\x80\xA6");
  EXPECT_EQ(t.decode({byte_id('a'), byte_id(0xE2), byte_id(0x80)}), "a\xEF\xBF\xBD");
  EXPECT_EQ(t.decode({byte_id('a'), 123456, -1, byte_id('b')}), "ab");
  EXPECT_EQ(t.decode({}), "");
}

TEST(Tokenizer, WithoutDecoderTokensAreJoinedWithSpaces) {
  json j = bloom_like_json();
  j["decoder"] = nullptr;
  EXPECT_EQ(load(j).decode({byte_id('a'), byte_id('b')}), "a b");
}

TEST(Tokenizer, InvalidUtf8InputIsEncodedByteForByte) {
  const Tokenizer t = load(bloom_like_json());
  const std::string text = "\xFF\xE2\x80 a";
  EXPECT_EQ(t.encode(text), (Ids{byte_id(0xFF), byte_id(0xE2), byte_id(0x80), byte_id(' '), byte_id('a')}));
  EXPECT_EQ(t.decode(t.encode(text)), "\xEF\xBF\xBD\xEF\xBF\xBD a");
}

TEST(Tokenizer, TokenIdLookups) {
  const Tokenizer t = load(bloom_like_json({{"a", "b"}}));
  EXPECT_EQ(t.token_to_id("<s>"), 1);
  EXPECT_EQ(t.token_to_id("ab"), 260);
  EXPECT_EQ(t.token_to_id("zzz"), std::nullopt);
  EXPECT_EQ(t.id_to_token(260), "ab");
  EXPECT_EQ(t.id_to_token(2), "</s>");
  EXPECT_TRUE(throws_error([&] { t.id_to_token(261); }, {"test.json", "261"}));
  EXPECT_EQ(t.vocab_size(), 261);
}

TEST(Tokenizer, ToJsonRoundTripAndFromParts) {
  json j = bloom_like_json({{"a", "b"}, {"ab", "c"}, {"\xC4\xA0", "ab"}});
  j["model"]["unk_token"] = "<unk>";
  j["added_tokens"].push_back({{"id", 400}, {"content", "<img>"}, {"normalized", true}, {"special", false}});
  const Tokenizer t = load(j);
  const std::string text = "abc ab<img>abc\n<s>";
  const Tokenizer again = Tokenizer::from_json(t.to_json(), "rewritten");
  EXPECT_EQ(again.encode(text), t.encode(text));
  EXPECT_EQ(again.to_json(), t.to_json());
  EXPECT_EQ(again.added_tokens().size(), t.added_tokens().size());

  const Tokenizer parts = Tokenizer::from_parts(t.model(), t.added_tokens(), json::parse(t.to_json()), "parts");
  EXPECT_EQ(parts.encode(text), t.encode(text));

  medvqa::testing::TempDir dir;
  t.save(dir.file("tokenizer.json"));
  EXPECT_EQ(Tokenizer::from_file(dir.path()).encode(text), t.encode(text));
}

TEST(Tokenizer, ConcurrentEncodesAgree) {
  const Tokenizer t = load(bloom_like_json({{"a", "b"}, {"\xC4\xA0", "ab"}}));
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("ab " + std::to_string(i) + " abab" + std::string(i % 7, 'a'));
  std::vector<Ids> expected;
  for (const auto& s : texts) expected.push_back(t.encode(s));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (size_t i = 0; i < texts.size(); ++i) mismatches[k] += t.encode(texts[i]) != expected[i];
    });
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(CleanUpTokenizationSpaces, FollowsTransformers) {
  EXPECT_EQ(clean_up_tokenization_spaces("a , b . c ! d ? I 'm do n't it 's we 've they 're x ' y"),
            "a, b. c! d? I'm don't it's we've they're x'y");
  EXPECT_EQ(clean_up_tokenization_spaces(" ?!."), "?!.");
  EXPECT_EQ(clean_up_tokenization_spaces("no change"), "no change");
}

}  // namespace
}  // namespace medvqa::text
