#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "text/encoding.h"

namespace medvqa::text {

// The tokenizer.json "post_processor": ByteLevel (offset trimming only), TemplateProcessing,
// BertProcessing, RobertaProcessing and Sequence, for single sequences.
class PostProcessor {
 public:
  // `config` may be null. Unsupported types are a medvqa::Error.
  static PostProcessor from_json(const nlohmann::json& config);

  // Special tokens are added only with `add_special_tokens`; offsets are trimmed regardless, as HF does.
  void process(Encoding& encoding, bool add_special_tokens) const;

  const nlohmann::json& config() const { return config_; }

 private:
  struct Item {
    bool is_sequence;  // the encoded text itself; otherwise these special tokens
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
  };
  struct Step {
    std::vector<Item> template_items;  // empty: the step trims byte-level offsets
    bool add_prefix_space = false;
  };

  PostProcessor() = default;
  void add_step(const nlohmann::json& config);

  std::vector<Step> steps_;
  nlohmann::json config_;
};

}  // namespace medvqa::text
