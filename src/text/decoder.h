#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace medvqa::text {

// The tokenizer.json "decoder": ByteLevel, or a Sequence of them.
class Decoder {
 public:
  // `config` may be null: tokens are then joined with spaces, as HF does without a decoder.
  // Unsupported types are a medvqa::Error.
  static Decoder from_json(const nlohmann::json& config);

  std::string decode(std::vector<std::string> tokens) const;

  const nlohmann::json& config() const { return config_; }

 private:
  Decoder() = default;
  void add_step(const nlohmann::json& config);

  size_t byte_level_steps_ = 0;
  nlohmann::json config_;
};

// transformers' clean_up_tokenization_spaces: drops the space before . ? ! , and English
// contractions. A transformers-level option (BLOOM's default is on), not part of tokenizer.json.
std::string clean_up_tokenization_spaces(std::string text);

}  // namespace medvqa::text
