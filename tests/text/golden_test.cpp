// The tokenizer against HF tokenizers (Rust core) on every golden set under golden/tokenizer: each
// subdirectory with tokenizer.json + encoded.json, every case its encoded.json records.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "testing/fixtures.h"
#include "testing/testing.h"
#include "text/decoder.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace medvqa::text {
namespace {

namespace fs = std::filesystem;

std::string golden_dir() { return medvqa::testing::golden_root() + "/tokenizer"; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

struct GoldenSet {
  std::string name;
  Tokenizer tokenizer;
  nlohmann::json encoded;
};

std::vector<GoldenSet> load_golden_sets() {
  std::vector<GoldenSet> sets;
  for (const std::string& dir : medvqa::testing::subdirs_with(golden_dir(), "encoded.json")) {
    if (!fs::exists(fs::path(dir) / "tokenizer.json")) continue;
    sets.push_back({fs::path(dir).filename().string(), Tokenizer::from_file(dir), read_json(dir + "/encoded.json")});
  }
  return sets;
}

// Loaded once: a real BLOOM vocabulary takes a moment.
const std::vector<GoldenSet>& golden_sets() {
  static const std::vector<GoldenSet> sets = load_golden_sets();
  return sets;
}

// The golden offsets count code points; ours count bytes and may cover part of a character.
std::vector<std::pair<size_t, size_t>> code_point_offsets(const std::string& text, const std::vector<Span>& offsets) {
  std::vector<size_t> char_of(text.size() + 1);
  size_t chars = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = decode_utf8(text, pos).length;
    for (size_t k = 0; k < len; ++k) char_of[pos + k] = chars;
    pos += len;
    ++chars;
  }
  char_of[text.size()] = chars;
  std::vector<std::pair<size_t, size_t>> out;
  for (const Span& o : offsets)
    out.emplace_back(char_of[o.first], o.second > o.first ? char_of[o.second - 1] + 1 : char_of[o.first]);
  return out;
}

// Skipped rather than passed when the golden set is absent, so a missing set is visible (and a
// failure where fixtures are required).
#define REQUIRE_GOLDEN(sets) \
  if ((sets).empty()) MEDVQA_SKIP_MISSING_FIXTURE("no tokenizer golden sets under " << golden_dir())

TEST(TokenizerGolden, EveryGoldenCaseIsRecorded) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  const std::string cases_path = golden_dir() + "/cases.json";
  if (!fs::exists(cases_path)) MEDVQA_SKIP_MISSING_FIXTURE("no " << cases_path);
  const auto cases = read_json(cases_path).get<std::vector<std::string>>();
  for (const GoldenSet& set : sets) {
    std::set<std::string> recorded;
    for (const auto& r : set.encoded.at("results")) recorded.insert(r.at("text").get<std::string>());
    for (const std::string& c : cases) EXPECT_TRUE(recorded.count(c)) << set.name << " lacks case: " << c;
  }
}

TEST(TokenizerGolden, IdsTokensAndOffsetsEqualRust) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  for (const GoldenSet& set : sets) {
    size_t passed = 0;
    const auto& results = set.encoded.at("results");
    for (const auto& r : results) {
      const auto text = r.at("text").get<std::string>();
      SCOPED_TRACE(set.name + " case: " + text);
      const Encoding e = set.tokenizer.encode_with_offsets(text);
      const auto ids = r.at("ids_rust").get<std::vector<int64_t>>();
      const auto tokens = r.at("tokens_rust").get<std::vector<std::string>>();
      const auto offsets = r.at("offsets_rust").get<std::vector<std::pair<size_t, size_t>>>();
      EXPECT_EQ(e.ids, ids);
      EXPECT_EQ(e.tokens, tokens);
      EXPECT_EQ(code_point_offsets(text, e.offsets), offsets);
      EXPECT_EQ(set.tokenizer.encode(text), ids);
      passed += e.ids == ids && e.tokens == tokens && code_point_offsets(text, e.offsets) == offsets;
    }
    std::cout << "[ golden   ] " << set.name << ": " << passed << "/" << results.size()
              << " cases with ids, tokens and offsets equal to Rust\n";
  }
}

TEST(TokenizerGolden, DecodeEqualsRust) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  for (const GoldenSet& set : sets) {
    size_t passed = 0;
    const auto& results = set.encoded.at("results");
    for (const auto& r : results) {
      const auto text = r.at("text").get<std::string>();
      SCOPED_TRACE(set.name + " case: " + text);
      const auto ids = r.at("ids_rust").get<std::vector<int64_t>>();
      const std::string decoded = set.tokenizer.decode(ids);
      const std::string skipped = set.tokenizer.decode(ids, /*skip_special_tokens=*/true);
      bool ok = decoded == r.at("decoded_rust").get<std::string>() &&
                skipped == r.at("decoded_rust_skip_special").get<std::string>();
      EXPECT_EQ(decoded, r.at("decoded_rust").get<std::string>());
      EXPECT_EQ(skipped, r.at("decoded_rust_skip_special").get<std::string>());
      // transformers.js records null where it cannot decode (the empty sequence).
      if (const auto& cleaned = r.at("decoded_js_cleanup"); !cleaned.is_null()) {
        EXPECT_EQ(clean_up_tokenization_spaces(decoded), cleaned.get<std::string>());
        ok = ok && clean_up_tokenization_spaces(decoded) == cleaned.get<std::string>();
      }
      if (is_valid_utf8(text)) {
        EXPECT_EQ(set.tokenizer.decode(set.tokenizer.encode(text)), text);
        ok = ok && set.tokenizer.decode(set.tokenizer.encode(text)) == text;
      }
      passed += ok;
    }
    std::cout << "[ golden   ] " << set.name << ": " << passed << "/" << results.size()
              << " cases with decodes equal to Rust and exact round trips\n";
  }
}

TEST(TokenizerGolden, VocabularyMatchesRust) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  for (const GoldenSet& set : sets) {
    SCOPED_TRACE(set.name);
    const auto& meta = set.encoded.at("meta");
    if (meta.contains("vocab_size_rust")) {
      EXPECT_EQ(set.tokenizer.vocab_size(), meta.at("vocab_size_rust").get<int64_t>());
    }
    // Every token the reference produced maps back to its id.
    for (const auto& r : set.encoded.at("results")) {
      const auto ids = r.at("ids_rust").get<std::vector<int64_t>>();
      const auto tokens = r.at("tokens_rust").get<std::vector<std::string>>();
      for (size_t i = 0; i < ids.size() && i < tokens.size(); ++i) {
        EXPECT_EQ(set.tokenizer.id_to_token(ids[i]), tokens[i]);
        EXPECT_EQ(set.tokenizer.token_to_id(tokens[i]), ids[i]);
      }
    }
  }
}

TEST(TokenizerGolden, SpecialTokenIdsFollowSpecialTokensMap) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  for (const GoldenSet& set : sets) {
    SCOPED_TRACE(set.name);
    const std::string map_path = golden_dir() + "/" + set.name + "/special_tokens_map.json";
    if (!fs::exists(map_path)) continue;
    const auto map = read_json(map_path);
    auto expected = [&](const char* key) -> std::optional<int64_t> {
      if (!map.contains(key)) return std::nullopt;
      const auto& v = map.at(key);
      return set.tokenizer.token_to_id(v.is_string() ? v.get<std::string>() : v.at("content").get<std::string>());
    };
    if (map.contains("bos_token")) {
      EXPECT_EQ(set.tokenizer.bos_id(), expected("bos_token"));
    }
    if (map.contains("eos_token")) {
      EXPECT_EQ(set.tokenizer.eos_id(), expected("eos_token"));
    }
    if (map.contains("pad_token")) {
      EXPECT_EQ(set.tokenizer.pad_id(), expected("pad_token"));
    }
    if (map.contains("unk_token")) {
      EXPECT_EQ(set.tokenizer.unk_id(), expected("unk_token"));
    }
  }
}

TEST(TokenizerGolden, ToJsonRoundTripKeepsIds) {
  const auto& sets = golden_sets();
  REQUIRE_GOLDEN(sets);
  for (const GoldenSet& set : sets) {
    SCOPED_TRACE(set.name);
    const std::string written = set.tokenizer.to_json();
    const Tokenizer reloaded = Tokenizer::from_json(written, set.name + " (rewritten)");
    EXPECT_EQ(reloaded.to_json(), written);
    EXPECT_EQ(reloaded.vocab_size(), set.tokenizer.vocab_size());
    for (const auto& r : set.encoded.at("results")) {
      const auto text = r.at("text").get<std::string>();
      EXPECT_EQ(reloaded.encode(text), r.at("ids_rust").get<std::vector<int64_t>>()) << text;
    }
  }
}

}  // namespace
}  // namespace medvqa::text
