#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace medvqa::text {

struct BpeTrainerOptions {
  // Total ids: special tokens + 256 byte symbols + one per merge.
  int64_t vocab_size = 8192;
  // Training stops early once no pair occurs this often.
  int64_t min_frequency = 2;
  // Become added tokens (special, matched on the raw text) with ids 0, 1, ... in this order.
  std::vector<std::string> special_tokens = {"<unk>", "<s>", "</s>", "<pad>"};
};

// What the corpus looked like to the trainer, for reporting.
struct BpeTrainingStats {
  int64_t words = 0;           // pre-tokenized pieces
  int64_t distinct_words = 0;
  int64_t merges = 0;
  int64_t last_merge_count = 0;  // occurrences of the pair merged last
};

// A byte-level BPE tokenizer with BLOOM's tokenizer.json structure (pre-tokenizer, post-processor,
// decoder, special tokens, ids 0-3 specials, then the 256 byte symbols in byte order, then one id
// per merge), trained on `texts`.
//
// The texts are cut exactly as Tokenizer::encode will cut them (special tokens first, then the
// BLOOM pre-tokenizer), so every word the model is trained on is a word it will later encode. Then
// pairs are merged greedily: the most frequent adjacent pair first; ties go to the smallest pair of
// token strings, (left, right) compared bytewise — that is, in code point order of the byte-level
// symbols, so "b c" beats "Ġ a". The golden BLOOM-structured tokenizers follow this rule (see
// the golden merge-order test), and it makes the result independent of hashing and of input order
// beyond the counts. Throws medvqa::Error for a vocab_size below specials + 256 or bad specials.
Tokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options,
                    BpeTrainingStats* stats = nullptr);

}  // namespace medvqa::text
