#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/config.h"
#include "model/layer_norm.h"
#include "model/linear.h"

namespace medvqa::model {

// Keys and values of every layer, preallocated for `capacity` positions so decoding writes in
// place instead of concatenating a growing tensor each step.
struct KvCache {
  std::vector<torch::Tensor> key, value;  // per layer [B, n_head, capacity, head_dim]
  int64_t length = 0;                     // positions filled so far

  KvCache(const BloomConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options);
  int64_t capacity() const { return key.empty() ? 0 : key[0].size(2); }
  // A new cache with room for `capacity` positions holding the first `length` positions of the
  // batch rows `index` (repeats allowed): several continuations of one prompt share its prefill.
  KvCache rows(const torch::Tensor& index, int64_t length, int64_t capacity) const;

 private:
  KvCache() = default;
};

// Per-head ALiBi slopes as transformers' build_alibi_tensor computes them (any head count).
torch::Tensor alibi_slopes(int64_t n_head);

class BloomAttentionImpl : public torch::nn::Module {
 public:
  explicit BloomAttentionImpl(const BloomConfig& config);
  // x: [B,T,H]; alibi: [B,n_head,1,S] bias over key positions; masked: [B,1,T,S] true where a
  // query may not attend; cache (optional) holds the S-T earlier positions of this layer.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual, const torch::Tensor& alibi,
                        const torch::Tensor& masked, KvCache* cache, int64_t layer);

  Linear query_key_value{nullptr}, dense{nullptr};

 private:
  int64_t n_head_, head_dim_;
  double hidden_dropout_;
};
TORCH_MODULE(BloomAttention);

class BloomMLPImpl : public torch::nn::Module {
 public:
  explicit BloomMLPImpl(const BloomConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
  Linear dense_h_to_4h{nullptr}, dense_4h_to_h{nullptr};

 private:
  double hidden_dropout_;
};
TORCH_MODULE(BloomMLP);

class BloomBlockImpl : public torch::nn::Module {
 public:
  explicit BloomBlockImpl(const BloomConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& alibi, const torch::Tensor& masked,
                        KvCache* cache, int64_t layer);

  LayerNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  BloomAttention self_attention{nullptr};
  BloomMLP mlp{nullptr};

 private:
  bool residual_post_layernorm_;
};
TORCH_MODULE(BloomBlock);

// transformers BloomModel: embeddings → LayerNorm → blocks → ln_f.
class BloomModelImpl : public torch::nn::Module {
 public:
  explicit BloomModelImpl(const BloomConfig& config);

  // inputs_embeds: [B,T,H] (word embeddings, possibly with image queries in front);
  // attention_mask: [B,S] with S = cached positions + T, 1 for real tokens, 0 for padding.
  // With `hidden_states`, also returns what transformers' output_hidden_states does (the
  // embeddings after their LayerNorm, each block's output but the last, then ln_f's output),
  // and the raw last block output after those.
  torch::Tensor forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                        KvCache* cache = nullptr, std::vector<torch::Tensor>* hidden_states = nullptr);

  BloomConfig config;
  torch::nn::Embedding word_embeddings{nullptr};
  LayerNorm word_embeddings_layernorm{nullptr}, ln_f{nullptr};
  torch::nn::ModuleList h{nullptr};
  std::vector<BloomBlock> blocks;
};
TORCH_MODULE(BloomModel);

// transformers BloomForCausalLM; lm_head is tied to word_embeddings (no parameter of its own).
class BloomForCausalLMImpl : public torch::nn::Module {
 public:
  explicit BloomForCausalLMImpl(const BloomConfig& config);

  torch::Tensor embed(const torch::Tensor& input_ids);
  torch::Tensor logits(const torch::Tensor& hidden);
  // Logits for every position: [B,T,V].
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  // Bytes of every weight as stored, packed or not: what one decoding step reads.
  int64_t weight_bytes();

  BloomModel transformer{nullptr};
  // The tied embedding in inference storage (pack_for_inference.h), for lookups and logits alike.
  std::shared_ptr<const PackedWeight> packed_embeddings;
};
TORCH_MODULE(BloomForCausalLM);

// A [B,S] all-ones mask for unpadded input.
torch::Tensor full_attention_mask(int64_t batch, int64_t length, torch::Device device);

}  // namespace medvqa::model
