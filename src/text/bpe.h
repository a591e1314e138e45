#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace medvqa::text {

struct BpeOptions {
  std::optional<std::string> unk_token;  // characters outside the vocabulary are dropped without one
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;  // unknown characters as <0xXX> byte tokens when those exist
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token
};

// The BPE model of tokenizer.json: a vocabulary, a ranked merge list, and the rules for characters
// the vocabulary lacks. Kept as plain data so trained vocabularies can be built and saved.
class Bpe {
 public:
  using Vocab = std::unordered_map<std::string, int64_t>;
  using Merge = std::pair<std::string, std::string>;

  struct Token {
    int64_t id;
    size_t begin;  // bytes of the word this token covers
    size_t end;
  };

  // Throws medvqa::Error for inconsistent data (a merge of unknown tokens, a shared id, ...).
  Bpe(Vocab vocab, std::vector<Merge> merges, BpeOptions options = {});

  // The "model" object of tokenizer.json; the type must be BPE. Tables already read elsewhere (see
  // parse_tokenizer_json) are passed in; nullopt reads them from `model`.
  static Bpe from_json(const nlohmann::json& model, std::optional<Vocab> vocab = std::nullopt,
                       std::optional<std::vector<Merge>> merges = std::nullopt);
  // That object back, vocabulary in id order.
  std::string to_json() const;

  // Encodes one pre-tokenized word (already in the model's alphabet).
  std::vector<Token> tokenize(std::string_view word) const;

  std::optional<int64_t> token_to_id(const std::string& token) const;
  // nullptr when no token has this id.
  const std::string* id_to_token(int64_t id) const;
  // Largest id in the vocabulary, -1 when it is empty.
  int64_t max_id() const { return max_id_; }

  const Vocab& vocab() const { return vocab_; }
  const std::vector<Merge>& merges() const { return merges_; }
  const BpeOptions& options() const { return options_; }

 private:
  struct MergeInfo {
    int32_t rank;
    int32_t new_id;
  };
  // Words repeat a lot in running text; HF caches them the same way, with the same bound. A copy
  // starts empty, so Bpe stays copyable although the cache is shared between threads.
  class Cache {
   public:
    Cache() = default;
    Cache(const Cache&) {}
    Cache& operator=(const Cache&);
    std::optional<std::vector<Token>> get(const std::string& word) const;
    void put(const std::string& word, const std::vector<Token>& tokens);

   private:
    static constexpr size_t kCapacity = 10000;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::vector<Token>> words_;
  };

  static uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }
  // The <0xXX> tokens of every byte of `symbol`, or nothing when byte_fallback is off or one is missing.
  std::vector<Token> byte_fallback_tokens(const std::string& symbol, size_t begin, size_t end) const;
  std::vector<Token> initial_symbols(std::string_view word) const;
  std::vector<Token> merge_symbols(std::vector<Token> symbols) const;

  Vocab vocab_;
  std::vector<Merge> merges_;
  BpeOptions options_;
  std::unordered_map<int64_t, std::string> tokens_by_id_;
  std::unordered_map<uint64_t, MergeInfo> merge_map_;
  std::optional<int64_t> unk_id_;
  int64_t max_id_ = -1;
  mutable Cache cache_;
};

}  // namespace medvqa::text
