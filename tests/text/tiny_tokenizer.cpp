#include "tiny_tokenizer.h"

#include "text/byte_level.h"
#include "text/split_pattern.h"
#include "text/utf8.h"

namespace medvqa::text::testing {

nlohmann::json bloom_like_json(const std::vector<std::pair<std::string, std::string>>& merges) {
  using nlohmann::json;
  json added = json::array();
  const char* specials[] = {"<unk>", "<s>", "</s>", "<pad>"};
  json vocab = json::object();
  for (int i = 0; i < 4; ++i) {
    added.push_back({{"id", i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
    vocab[specials[i]] = i;
  }
  for (int b = 0; b < 256; ++b) {
    std::string symbol;
    append_utf8(symbol, byte_to_symbol(static_cast<unsigned char>(b)));
    vocab[symbol] = byte_id(static_cast<unsigned char>(b));
  }
  json merge_list = json::array();
  int64_t next = 260;
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
    merge_list.push_back(a + " " + b);
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", {{"Regex", kBloomSplitRegex}}}, {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                       {"use_regex", false}}})}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", merge_list}}},
  };
}

}  // namespace medvqa::text::testing
