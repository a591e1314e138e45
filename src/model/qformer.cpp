#include "model/qformer.h"

#include <cmath>

#include "model/masking.h"

namespace medvqa::model {

QFormerMultiHeadAttentionImpl::QFormerMultiHeadAttentionImpl(const QFormerConfig& c, bool cross)
    : num_heads_(c.num_attention_heads) {
  int64_t kv_in = cross ? c.encoder_hidden_size : c.hidden_size;
  query = register_module("query", Linear(c.hidden_size, c.hidden_size));
  key = register_module("key", Linear(kv_in, c.hidden_size));
  value = register_module("value", Linear(kv_in, c.hidden_size));
}

torch::Tensor QFormerMultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                                     const torch::Tensor& additive_mask, std::vector<torch::Tensor>* probs_out) {
  const int64_t B = x.size(0), T = x.size(1), S = context.size(1), H = query->out_features, hd = H / num_heads_;
  auto heads = [&](const torch::Tensor& t, int64_t n) { return t.view({B, n, num_heads_, hd}).transpose(1, 2); };
  auto q = heads(query(x), T);
  auto k = heads(key(context), S);
  auto v = heads(value(context), S);
  auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(hd));
  if (additive_mask.defined()) scores = scores + additive_mask;
  auto probs = torch::softmax(scores, -1);
  if (probs_out) probs_out->push_back(probs);
  return torch::matmul(probs, v).transpose(1, 2).reshape({B, T, H});
}

QFormerResidualOutputImpl::QFormerResidualOutputImpl(int64_t in, int64_t hidden, double eps) {
  dense = register_module("dense", Linear(in, hidden));
  LayerNorm = register_module("LayerNorm", model::LayerNorm(hidden, eps));
}

torch::Tensor QFormerResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& input) {
  return LayerNorm(dense(x) + input);
}

QFormerAttentionImpl::QFormerAttentionImpl(const QFormerConfig& c, bool cross) {
  attention = register_module("attention", QFormerMultiHeadAttention(c, cross));
  output = register_module("output", QFormerResidualOutput(c.hidden_size, c.hidden_size, c.layer_norm_eps));
}

torch::Tensor QFormerAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                            const torch::Tensor& additive_mask, std::vector<torch::Tensor>* probs) {
  return output(attention(x, context, additive_mask, probs), x);
}

QFormerIntermediateImpl::QFormerIntermediateImpl(const QFormerConfig& c) {
  dense = register_module("dense", Linear(c.hidden_size, c.intermediate_size));
}

QFormerLayerImpl::QFormerLayerImpl(const QFormerConfig& c, int64_t index) {
  attention = register_module("attention", QFormerAttention(c, false));
  if (index % c.cross_attention_frequency == 0)
    crossattention = register_module("crossattention", QFormerAttention(c, true));
  intermediate_query = register_module("intermediate_query", QFormerIntermediate(c));
  output_query =
      register_module("output_query", QFormerResidualOutput(c.intermediate_size, c.hidden_size, c.layer_norm_eps));
}

torch::Tensor QFormerLayerImpl::forward(const torch::Tensor& queries, const torch::Tensor& image_tokens,
                                        const torch::Tensor& image_additive_mask, QFormerAttentions* attentions) {
  // Queries attend to each other without a mask: they are never padding.
  auto x = attention(queries, queries, torch::Tensor(), attentions ? &attentions->attentions : nullptr);
  if (!crossattention.is_empty())
    x = crossattention(x, image_tokens, image_additive_mask, attentions ? &attentions->cross_attentions : nullptr);
  return output_query(intermediate_query(x), x);
}

QFormerEncoderImpl::QFormerEncoderImpl(const QFormerConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers.push_back(QFormerLayer(c, i));
    layer->push_back(layers.back());
  }
}

QFormerModelImpl::QFormerModelImpl(const QFormerConfig& c) {
  layernorm = register_module("layernorm", LayerNorm(c.hidden_size, c.layer_norm_eps));
  encoder = register_module("encoder", QFormerEncoder(c));
}

torch::Tensor QFormerModelImpl::forward(const torch::Tensor& query_embeds, const torch::Tensor& image_tokens,
                                        const torch::Tensor& image_mask, std::vector<torch::Tensor>* hidden_states,
                                        QFormerAttentions* attentions) {
  torch::Tensor additive;
  if (image_mask.defined()) {
    auto m = image_mask.to(image_tokens.device(), query_embeds.scalar_type()).view({image_mask.size(0), 1, 1, -1});
    additive = (1.0 - m) * lowest_value(query_embeds);
  }
  auto tokens = image_tokens.to(query_embeds.scalar_type());
  auto x = layernorm(query_embeds);
  if (hidden_states) hidden_states->push_back(x);
  for (auto& l : encoder->layers) {
    x = l->forward(x, tokens, additive, attentions);
    if (hidden_states) hidden_states->push_back(x);
  }
  return x;
}

}  // namespace medvqa::model
