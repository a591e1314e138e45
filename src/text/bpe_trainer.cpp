#include "text/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "io/error.h"
#include "text/byte_level.h"
#include "text/split_pattern.h"

namespace medvqa::text {

namespace {

// BLOOM's tokenizer.json without its model and added tokens.
nlohmann::json bloom_pipeline() {
  using nlohmann::json;
  return {
      {"truncation", nullptr},
      {"padding", nullptr},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", {{"Regex", kBloomSplitRegex}}}, {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                       {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", false}}},
  };
}

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xffffffffu); }

// Greedy merging with pair counts kept up to date incrementally: a merge only touches the words
// that contain its pair, so each step costs the size of those words, not of the corpus.
class Trainer {
 public:
  Trainer(const std::vector<std::string>& specials, const std::unordered_map<std::string, int64_t>& word_counts)
      : first_byte_id_(static_cast<int32_t>(specials.size())), queue_(Order{&tokens_}) {
    tokens_ = specials;
    for (int b = 0; b < 256; ++b) tokens_.push_back(bytes_to_symbols(std::string(1, static_cast<char>(b))));
    for (size_t id = 0; id < tokens_.size(); ++id)
      if (!ids_.emplace(tokens_[id], static_cast<int32_t>(id)).second)
        throw Error("special token '" + tokens_[id] + "' is listed twice or is a byte-level symbol");

    // Sorted, so the word indices (and everything derived from them) do not depend on hashing.
    std::vector<std::pair<std::string, int64_t>> sorted(word_counts.begin(), word_counts.end());
    std::sort(sorted.begin(), sorted.end());
    words_.reserve(sorted.size());
    for (const auto& [text, count] : sorted) {
      Word w{{}, count};
      w.symbols.reserve(text.size());
      for (unsigned char c : text) w.symbols.push_back(first_byte_id_ + c);
      words_.push_back(std::move(w));
    }
    for (size_t i = 0; i < words_.size(); ++i) add_pairs(static_cast<int32_t>(i), nullptr);
    for (const auto& [key, count] : pair_counts_)
      if (count > 0) queue_.push({count, key});
  }

  // Merges until the vocabulary has `vocab_size` tokens or no pair occurs `min_frequency` times.
  void run(size_t vocab_size, int64_t min_frequency) {
    while (tokens_.size() < vocab_size && !queue_.empty()) {
      const Candidate top = queue_.top();
      queue_.pop();
      // Entries go stale when merges take occurrences away; the fresh count competes again.
      const int64_t count = count_of(top.key);
      if (count != top.count) {
        if (count > 0) queue_.push({count, top.key});
        continue;
      }
      if (count < min_frequency) break;
      merge(top.key);
      last_merge_count_ = count;
    }
  }

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<Bpe::Merge>& merges() const { return merges_; }
  int64_t last_merge_count() const { return last_merge_count_; }

 private:
  struct Word {
    std::vector<int32_t> symbols;
    int64_t count;
  };
  struct Candidate {
    int64_t count;
    uint64_t key;
  };
  // Priority: higher count, then the smaller (left, right) pair of token strings.
  struct Order {
    const std::vector<std::string>* tokens;
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.count != b.count) return a.count < b.count;
      const std::string& al = (*tokens)[left_of(a.key)];
      const std::string& bl = (*tokens)[left_of(b.key)];
      if (al != bl) return al > bl;
      return (*tokens)[right_of(a.key)] > (*tokens)[right_of(b.key)];
    }
  };

  int64_t count_of(uint64_t key) const {
    auto it = pair_counts_.find(key);
    return it == pair_counts_.end() ? 0 : it->second;
  }

  // Counts the pairs of word `w`; those containing `fresh` (when given) are new candidates.
  void add_pairs(int32_t w, const int32_t* fresh, std::vector<uint64_t>* grown = nullptr) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const uint64_t key = pair_key(word.symbols[i], word.symbols[i + 1]);
      pair_counts_[key] += word.count;
      if (fresh == nullptr || word.symbols[i] == *fresh || word.symbols[i + 1] == *fresh) {
        pair_words_[key].push_back(w);
        if (grown) grown->push_back(key);
      }
    }
  }

  void remove_pairs(int32_t w) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      auto it = pair_counts_.find(pair_key(word.symbols[i], word.symbols[i + 1]));
      if ((it->second -= word.count) == 0) pair_counts_.erase(it);
    }
  }

  void merge(uint64_t key) {
    const int32_t a = left_of(key), b = right_of(key);
    const std::string merged = tokens_[a] + tokens_[b];
    merges_.emplace_back(tokens_[a], tokens_[b]);
    // Two different merges can spell the same token ("Ġt he", "Ġth e"); like HF, it keeps one id.
    auto [it, is_new] = ids_.emplace(merged, static_cast<int32_t>(tokens_.size()));
    if (is_new) tokens_.push_back(merged);
    const int32_t id = it->second;

    // Word lists only grow, so they hold repeats and words that have since lost the pair.
    std::vector<int32_t> where = std::move(pair_words_[key]);
    pair_words_.erase(key);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());

    std::vector<uint64_t> grown;
    for (int32_t w : where) {
      std::vector<int32_t>& s = words_[w].symbols;
      bool found = false;
      for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == a && s[i + 1] == b;
      if (!found) continue;
      remove_pairs(w);
      // Left to right, without overlap: "a a a" with (a, a) becomes "aa a", as the encoder does.
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++out) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          s[out] = id;
          i += 2;
        } else {
          s[out] = s[i++];
        }
      }
      s.resize(out);
      add_pairs(w, &id, &grown);
    }
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t g : grown)
      if (const int64_t c = count_of(g); c > 0) queue_.push({c, g});
  }

  int32_t first_byte_id_;
  std::vector<std::string> tokens_;  // by id
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words_;
  std::priority_queue<Candidate, std::vector<Candidate>, Order> queue_;
  std::vector<Bpe::Merge> merges_;
  int64_t last_merge_count_ = 0;
};

}  // namespace

Tokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options, BpeTrainingStats* stats) {
  const int64_t alphabet = static_cast<int64_t>(options.special_tokens.size()) + 256;
  if (options.vocab_size < alphabet)
    throw Error("vocab_size " + std::to_string(options.vocab_size) + " is below the " + std::to_string(alphabet) +
                " special and byte-level tokens");
  if (options.vocab_size > (int64_t{1} << 31)) throw Error("vocab_size " + std::to_string(options.vocab_size) + " is too large");
  std::vector<AddedToken> added;
  for (size_t i = 0; i < options.special_tokens.size(); ++i) {
    if (options.special_tokens[i].empty()) throw Error("empty special token");
    AddedToken t;
    t.id = static_cast<int64_t>(i);
    t.content = options.special_tokens[i];
    t.normalized = false;
    t.special = true;
    added.push_back(std::move(t));
  }

  const nlohmann::json pipeline = bloom_pipeline();
  const PreTokenizer pre_tokenizer = PreTokenizer::from_json(pipeline.at("pre_tokenizer"));
  const AddedVocabulary specials(added);
  std::unordered_map<std::string, int64_t> word_counts;
  int64_t words = 0;
  for (const std::string& text : texts) {
    for (const AddedVocabulary::Segment& seg : specials.split(text)) {
      if (seg.token != nullptr) continue;
      for (const Piece& piece : pre_tokenizer.split(text, seg.begin, seg.end)) {
        std::string word = piece.prefix_space ? " " : "";
        word.append(text, piece.begin, piece.end - piece.begin);
        ++word_counts[word];
        ++words;
      }
    }
  }

  Trainer trainer(options.special_tokens, word_counts);
  trainer.run(static_cast<size_t>(options.vocab_size), options.min_frequency);

  Bpe::Vocab vocab;
  for (size_t id = 0; id < trainer.tokens().size(); ++id) vocab.emplace(trainer.tokens()[id], static_cast<int64_t>(id));
  if (stats) *stats = {words, static_cast<int64_t>(word_counts.size()), static_cast<int64_t>(trainer.merges().size()),
                       trainer.last_merge_count()};
  return Tokenizer::from_parts(Bpe(std::move(vocab), trainer.merges()), std::move(added), pipeline, "trained BPE");
}

}  // namespace medvqa::text
