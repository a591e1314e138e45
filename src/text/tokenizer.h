#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/decoder.h"
#include "text/encoding.h"
#include "text/post_processor.h"
#include "text/pre_tokenizer.h"

namespace medvqa::text {

// A Hugging Face tokenizer.json with a BPE model (BLOOM, GPT-2 and their kin), giving the same ids
// as the Rust `tokenizers` library. Pipeline: added tokens are cut out of the text first, the rest
// is pre-tokenized into words, each word is BPE-encoded, then the post-processor may add special
// tokens. No normalizer is supported, and "truncation"/"padding" are kept for to_json() but not
// applied: callers size their batches themselves.
class Tokenizer {
 public:
  // `path` is a tokenizer.json or a directory holding one; a special_tokens_map.json beside it
  // names the bos/eos/pad/unk tokens. Any problem is a medvqa::Error naming the file.
  static Tokenizer from_file(const std::string& path);
  // `origin` names the source in error messages.
  static Tokenizer from_json(const std::string& json_text, const std::string& origin);
  // A trained model plus the pipeline of another tokenizer.json (its normalizer, pre_tokenizer,
  // post_processor, decoder, truncation and padding; its model and added_tokens are ignored).
  static Tokenizer from_parts(Bpe model, std::vector<AddedToken> added_tokens, const nlohmann::json& pipeline,
                              const std::string& origin);

  std::vector<int64_t> encode(const std::string& text, bool add_special_tokens = true) const;
  // The same ids, with the token strings and the input bytes each came from.
  Encoding encode_with_offsets(const std::string& text, bool add_special_tokens = true) const;
  // Ids unknown to the vocabulary are skipped, as HF does. Byte sequences that are not UTF-8
  // (a character cut between tokens) become U+FFFD.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  std::optional<int64_t> token_to_id(const std::string& token) const;
  // Throws medvqa::Error for an id outside the vocabulary.
  std::string id_to_token(int64_t id) const;
  // Largest id of the vocabulary and added tokens, plus one.
  int64_t vocab_size() const;

  std::optional<int64_t> bos_id() const { return special_id(kBos); }
  std::optional<int64_t> eos_id() const { return special_id(kEos); }
  std::optional<int64_t> pad_id() const { return special_id(kPad); }
  std::optional<int64_t> unk_id() const { return special_id(kUnk); }

  // An equivalent tokenizer.json (vocabulary in id order).
  std::string to_json() const;
  void save(const std::string& path) const;

  const Bpe& model() const { return model_; }
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }
  const std::string& origin() const { return origin_; }

 private:
  enum SpecialRole { kBos, kEos, kPad, kUnk, kRoles };

  Tokenizer(Bpe model, std::vector<AddedToken> added_tokens, const nlohmann::json& pipeline, std::string origin);
  void encode_piece(const std::string& text, const Piece& piece, Encoding& out) const;
  std::optional<int64_t> special_id(SpecialRole role) const;

  std::string origin_;
  Bpe model_;
  AddedVocabulary added_;
  PreTokenizer pre_tokenizer_;
  PostProcessor post_processor_;
  Decoder decoder_;
  nlohmann::json truncation_;
  nlohmann::json padding_;
  // Candidate token names per role, most authoritative first.
  std::array<std::vector<std::string>, kRoles> special_names_;
};

}  // namespace medvqa::text
