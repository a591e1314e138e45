#pragma once
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "model/bloom.h"

namespace medvqa::model {

struct GenerationOptions {
  int64_t max_new_tokens = 16;
  std::optional<int64_t> eos_token_id;
  int64_t pad_token_id = 3;
  bool use_cache = true;
  bool keep_scores = false;  // keep each step's raw logits (transformers' output_scores)
  double temperature = 0.0;  // 0 = greedy
  uint64_t seed = 0;         // for temperature > 0
  // Called with each step's tokens [B] as they are chosen (pad for rows that have ended), for
  // streaming; may be empty.
  std::function<void(const torch::Tensor& next)> on_token;
};

struct GenerationResult {
  torch::Tensor tokens;               // [B, n] new tokens; rows that ended are filled with pad
  std::vector<torch::Tensor> scores;  // n × [B, V] when keep_scores
  // With use_cache: the keys and values decoding filled. Its first T positions hold the prompts',
  // for scoring other continuations of the same prompts without running them again.
  std::optional<KvCache> cache;
};

// Decodes from a prompt given as embeddings (text, or image queries then text), as transformers'
// generate() does from inputs_embeds: stops when every row has produced EOS or after
// max_new_tokens.
GenerationResult generate(BloomForCausalLM& lm, const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                          const GenerationOptions& options);

}  // namespace medvqa::model
