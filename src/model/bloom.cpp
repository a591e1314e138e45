#include "model/bloom.h"

#include <cmath>

#include "model/activations.h"
#include "model/masking.h"

namespace medvqa::model {

KvCache::KvCache(const BloomConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options) {
  for (int64_t i = 0; i < config.n_layer; ++i) {
    key.push_back(torch::empty({batch, config.n_head, capacity, config.head_dim()}, options));
    value.push_back(torch::empty({batch, config.n_head, capacity, config.head_dim()}, options));
  }
}

KvCache KvCache::rows(const torch::Tensor& index, int64_t length, int64_t capacity) const {
  TORCH_CHECK(length <= this->length && length <= capacity, "cannot take ", length, " positions of a KV cache holding ",
              this->length, " into one of capacity ", capacity);
  KvCache out;
  auto take = [&](const torch::Tensor& t) {
    auto sizes = t.sizes().vec();
    sizes[0] = index.numel();
    sizes[2] = capacity;
    auto r = torch::empty(sizes, t.options());
    r.narrow(2, 0, length).copy_(t.narrow(2, 0, length).index_select(0, index.to(t.device())));
    return r;
  };
  for (size_t l = 0; l < key.size(); ++l) {
    out.key.push_back(take(key[l]));
    out.value.push_back(take(value[l]));
  }
  out.length = length;
  return out;
}

torch::Tensor alibi_slopes(int64_t n_head) {
  int64_t closest = int64_t(1) << int64_t(std::floor(std::log2(double(n_head))));
  auto base = [](int64_t n) { return std::pow(2.0, -std::pow(2.0, -(std::log2(double(n)) - 3))); };
  std::vector<float> slopes;
  for (int64_t i = 1; i <= closest; ++i) slopes.push_back(float(std::pow(float(base(closest)), float(i))));
  // Heads beyond the closest power of two take the odd powers of the next power's base.
  int64_t remaining = std::min(closest, n_head - closest);
  for (int64_t i = 0; i < remaining; ++i)
    slopes.push_back(float(std::pow(float(base(2 * closest)), float(2 * i + 1))));
  return torch::tensor(slopes, torch::kFloat32);
}

namespace {

// transformers' dropout_add: the branch's output dropped out (training only), plus the residual.
torch::Tensor dropout_add(const torch::Tensor& x, const torch::Tensor& residual, double p, bool training) {
  return (training && p > 0 ? torch::dropout(x, p, /*train=*/true) : x) + residual;
}

}  // namespace

BloomAttentionImpl::BloomAttentionImpl(const BloomConfig& c)
    : n_head_(c.n_head), head_dim_(c.head_dim()), hidden_dropout_(c.hidden_dropout) {
  query_key_value = register_module("query_key_value", Linear(c.hidden_size, 3 * c.hidden_size));
  dense = register_module("dense", Linear(c.hidden_size, c.hidden_size));
}

torch::Tensor BloomAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& residual,
                                          const torch::Tensor& alibi, const torch::Tensor& masked, KvCache* cache,
                                          int64_t layer) {
  const int64_t B = x.size(0), T = x.size(1);
  // The fused projection is laid out [heads, 3, head_dim] per position.
  auto qkv = query_key_value(x).view({B, T, n_head_, 3, head_dim_});
  auto q = qkv.select(3, 0).transpose(1, 2);  // [B, nh, T, hd]
  auto k = qkv.select(3, 1).transpose(1, 2);
  auto v = qkv.select(3, 2).transpose(1, 2);
  if (cache != nullptr) {
    int64_t past = cache->length;
    cache->key[layer].narrow(2, past, T).copy_(k);
    cache->value[layer].narrow(2, past, T).copy_(v);
    k = cache->key[layer].narrow(2, 0, past + T);
    v = cache->value[layer].narrow(2, 0, past + T);
  }
  const int64_t S = k.size(2);
  const double inv_norm = 1.0 / std::sqrt(double(head_dim_));
  // scores = alibi + (q kᵀ)/√d, in one baddbmm as transformers computes it. One query (a decoding
  // step) takes broadcast products instead: CPU bmm runs a separate tiny GEMM per head.
  auto scores = T == 1 ? alibi.view({B, n_head_, 1, S}) + (k * q).sum(-1).unsqueeze(2) * inv_norm
                       : torch::baddbmm(alibi.reshape({B * n_head_, 1, S}), q.reshape({B * n_head_, T, head_dim_}),
                                        k.reshape({B * n_head_, S, head_dim_}).transpose(1, 2), 1.0, inv_norm)
                             .view({B, n_head_, T, S});
  scores = scores.masked_fill(masked, lowest_value(scores));
  auto probs = torch::softmax(scores, -1, torch::kFloat32).to(x.scalar_type());
  auto context = T == 1 ? (probs.transpose(2, 3) * v).sum(2, /*keepdim=*/true) : torch::matmul(probs, v);
  return dropout_add(dense(context.transpose(1, 2).reshape({B, T, n_head_ * head_dim_})), residual, hidden_dropout_,
                     is_training());
}

BloomMLPImpl::BloomMLPImpl(const BloomConfig& c) : hidden_dropout_(c.hidden_dropout) {
  dense_h_to_4h = register_module("dense_h_to_4h", Linear(c.hidden_size, 4 * c.hidden_size));
  dense_4h_to_h = register_module("dense_4h_to_h", Linear(4 * c.hidden_size, c.hidden_size));
}

torch::Tensor BloomMLPImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return dropout_add(dense_4h_to_h(bloom_gelu(dense_h_to_4h(x))), residual, hidden_dropout_, is_training());
}

BloomBlockImpl::BloomBlockImpl(const BloomConfig& c)
    : residual_post_layernorm_(c.apply_residual_connection_post_layernorm) {
  input_layernorm = register_module("input_layernorm", LayerNorm(c.hidden_size, c.layer_norm_epsilon));
  self_attention = register_module("self_attention", BloomAttention(c));
  post_attention_layernorm =
      register_module("post_attention_layernorm", LayerNorm(c.hidden_size, c.layer_norm_epsilon));
  mlp = register_module("mlp", BloomMLP(c));
}

torch::Tensor BloomBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& alibi, const torch::Tensor& masked,
                                      KvCache* cache, int64_t layer) {
  auto ln1 = input_layernorm(x);
  auto attn = self_attention(ln1, residual_post_layernorm_ ? ln1 : x, alibi, masked, cache, layer);
  auto ln2 = post_attention_layernorm(attn);
  return mlp(ln2, residual_post_layernorm_ ? ln2 : attn);
}

BloomModelImpl::BloomModelImpl(const BloomConfig& c) : config(c) {
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  word_embeddings_layernorm =
      register_module("word_embeddings_layernorm", LayerNorm(c.hidden_size, c.layer_norm_epsilon));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layer; ++i) {
    blocks.push_back(BloomBlock(c));
    h->push_back(blocks.back());
  }
  ln_f = register_module("ln_f", LayerNorm(c.hidden_size, c.layer_norm_epsilon));
}

torch::Tensor BloomModelImpl::forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                                      KvCache* cache, std::vector<torch::Tensor>* hidden_states) {
  const int64_t B = inputs_embeds.size(0), T = inputs_embeds.size(1), S = attention_mask.size(1);
  const int64_t past = cache != nullptr ? cache->length : 0;
  TORCH_CHECK(S == past + T, "attention mask covers ", S, " positions, expected ", past + T);
  TORCH_CHECK(cache == nullptr || S <= cache->capacity(), "KV cache capacity ", cache->capacity(), " exceeded");
  auto device = inputs_embeds.device();
  auto mask = attention_mask.to(device);

  // ALiBi: positions count from each row's first real token, so left padding changes nothing.
  auto positions = ((mask.cumsum(-1) - 1) * mask).to(torch::kFloat32);  // [B,S]
  auto slopes = alibi_slopes(config.n_head).to(device);
  auto alibi = (slopes.view({1, -1, 1}) * positions.unsqueeze(1)).to(inputs_embeds.scalar_type()).unsqueeze(2);

  // Masked: key after the query (causal), or key is padding.
  auto query_pos = torch::arange(past, past + T, torch::TensorOptions().device(device).dtype(torch::kLong));
  auto key_pos = torch::arange(S, torch::TensorOptions().device(device).dtype(torch::kLong));
  auto causal = key_pos.view({1, S}) > query_pos.view({T, 1});                 // [T,S]
  auto masked = causal.view({1, 1, T, S}) | (mask == 0).view({B, 1, 1, S});  // [B,1,T,S]

  auto x = word_embeddings_layernorm(inputs_embeds);
  if (hidden_states) hidden_states->push_back(x);
  for (size_t i = 0; i < blocks.size(); ++i) {
    x = blocks[i]->forward(x, alibi, masked, cache, int64_t(i));
    if (hidden_states && i + 1 < blocks.size()) hidden_states->push_back(x);
  }
  if (cache != nullptr) cache->length += T;
  auto out = ln_f(x);
  if (hidden_states) {
    hidden_states->push_back(out);
    hidden_states->push_back(x);
  }
  return out;
}

BloomForCausalLMImpl::BloomForCausalLMImpl(const BloomConfig& c) {
  transformer = register_module("transformer", BloomModel(c));
}

torch::Tensor BloomForCausalLMImpl::embed(const torch::Tensor& input_ids) {
  if (packed_embeddings)
    return packed_embeddings->rows(input_ids).to(transformer->word_embeddings_layernorm->weight.scalar_type());
  return transformer->word_embeddings(input_ids);
}

torch::Tensor BloomForCausalLMImpl::logits(const torch::Tensor& hidden) {
  if (packed_embeddings) return packed_embeddings->linear(hidden);
  return model::linear(hidden, transformer->word_embeddings->weight);
}

int64_t BloomForCausalLMImpl::weight_bytes() {
  int64_t bytes = packed_embeddings ? packed_embeddings->nbytes() : 0;
  for (const auto& p : parameters()) bytes += int64_t(p.nbytes());
  for (auto& module : modules(/*include_self=*/false))
    if (auto* linear = dynamic_cast<LinearImpl*>(module.get()); linear && linear->packed)
      bytes += linear->packed->nbytes();
  return bytes;
}

torch::Tensor BloomForCausalLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  return logits(transformer(embed(input_ids), attention_mask));
}

torch::Tensor full_attention_mask(int64_t batch, int64_t length, torch::Device device) {
  return torch::ones({batch, length}, torch::TensorOptions().dtype(torch::kLong).device(device));
}

}  // namespace medvqa::model
