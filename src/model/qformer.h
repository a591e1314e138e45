#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/activations.h"
#include "model/config.h"
#include "model/layer_norm.h"
#include "model/linear.h"

namespace medvqa::model {

// Each layer's attention probabilities, as transformers returns them with output_attentions:
// `attentions` [B,heads,Q,Q] (queries among themselves) and `cross_attentions` [B,heads,Q,S]
// (queries to image tokens; only layers with cross-attention), first layer first.
struct QFormerAttentions {
  std::vector<torch::Tensor> attentions, cross_attentions;
};

// transformers' Blip2QFormer* modules (BERT-style, post-norm), named as in its state dict.
class QFormerMultiHeadAttentionImpl : public torch::nn::Module {
 public:
  QFormerMultiHeadAttentionImpl(const QFormerConfig& c, bool cross_attention);
  // additive_mask: [B,1,1,S], 0 where attending is allowed, the dtype's lowest value elsewhere.
  // With `probs`, the attention probabilities [B,heads,T,S] are appended to it.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& additive_mask,
                        std::vector<torch::Tensor>* probs = nullptr);
  Linear query{nullptr}, key{nullptr}, value{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(QFormerMultiHeadAttention);

// dense → dropout → LayerNorm(· + input): Blip2QFormerSelfOutput and Blip2QFormerOutput alike.
class QFormerResidualOutputImpl : public torch::nn::Module {
 public:
  QFormerResidualOutputImpl(int64_t in, int64_t hidden, double eps);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& input);
  Linear dense{nullptr};
  model::LayerNorm LayerNorm{nullptr};  // qualified: the member takes HF's name
};
TORCH_MODULE(QFormerResidualOutput);

class QFormerAttentionImpl : public torch::nn::Module {
 public:
  QFormerAttentionImpl(const QFormerConfig& c, bool cross_attention);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& additive_mask,
                        std::vector<torch::Tensor>* probs = nullptr);
  QFormerMultiHeadAttention attention{nullptr};
  QFormerResidualOutput output{nullptr};
};
TORCH_MODULE(QFormerAttention);

class QFormerIntermediateImpl : public torch::nn::Module {
 public:
  explicit QFormerIntermediateImpl(const QFormerConfig& c);
  torch::Tensor forward(const torch::Tensor& x) { return gelu_erf(dense(x)); }
  Linear dense{nullptr};
};
TORCH_MODULE(QFormerIntermediate);

// Self-attention among the queries; cross-attention to the image tokens in layers where
// index % cross_attention_frequency == 0; then the query feed-forward.
class QFormerLayerImpl : public torch::nn::Module {
 public:
  QFormerLayerImpl(const QFormerConfig& c, int64_t index);
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& image_tokens,
                        const torch::Tensor& image_additive_mask, QFormerAttentions* attentions = nullptr);
  QFormerAttention attention{nullptr}, crossattention{nullptr};
  QFormerIntermediate intermediate_query{nullptr};
  QFormerResidualOutput output_query{nullptr};
};
TORCH_MODULE(QFormerLayer);

class QFormerEncoderImpl : public torch::nn::Module {
 public:
  explicit QFormerEncoderImpl(const QFormerConfig& c);
  torch::nn::ModuleList layer{nullptr};
  std::vector<QFormerLayer> layers;
};
TORCH_MODULE(QFormerEncoder);

// Blip2QFormerModel with query embeddings only (no text tokens), as BLIP-2 uses it for generation.
class QFormerModelImpl : public torch::nn::Module {
 public:
  explicit QFormerModelImpl(const QFormerConfig& c);
  // query_embeds: [B,Q,H]; image_tokens: [B,S,E]; image_mask: [B,S] (1 = attend) or undefined
  // for all ones. Returns last_hidden_state [B,Q,H]; with `hidden_states`, also the LayerNorm'ed
  // query embeddings and each layer's output; with `attentions`, each layer's attention probabilities.
  torch::Tensor forward(const torch::Tensor& query_embeds, const torch::Tensor& image_tokens,
                        const torch::Tensor& image_mask = {}, std::vector<torch::Tensor>* hidden_states = nullptr,
                        QFormerAttentions* attentions = nullptr);
  LayerNorm layernorm{nullptr};
  QFormerEncoder encoder{nullptr};
};
TORCH_MODULE(QFormerModel);

}  // namespace medvqa::model
