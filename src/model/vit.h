#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/config.h"
#include "model/layer_norm.h"
#include "model/linear.h"

namespace medvqa::model {

// timm's ViT pieces, named as timm names them so parameter names are BiomedCLIP's keys.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t patch_size, int64_t width);
  torch::Tensor forward(const torch::Tensor& pixels);  // [B,3,S,S] → [B,N,D]
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class VitAttentionImpl : public torch::nn::Module {
 public:
  VitAttentionImpl(int64_t width, int64_t num_heads);
  torch::Tensor forward(const torch::Tensor& x);
  Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(VitAttention);

class VitMlpImpl : public torch::nn::Module {
 public:
  VitMlpImpl(int64_t width, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);
  Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(VitMlp);

class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VisionConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // pre-norm: x + attn(norm1 x), x + mlp(norm2 x)
  LayerNorm norm1{nullptr}, norm2{nullptr};
  VitAttention attn{nullptr};
  VitMlp mlp{nullptr};
};
TORCH_MODULE(VitBlock);

// timm VisionTransformer (class token, learned positions, final norm, no head).
class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VisionConfig& c);
  // All tokens after the final norm, [B, 1+N, D]; index 0 is the class token. With
  // `intermediates`: patch embeddings, the input to block 0, and each block's output.
  torch::Tensor forward_features(const torch::Tensor& pixels, std::vector<torch::Tensor>* intermediates = nullptr);

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token, pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  LayerNorm norm{nullptr};

 private:
  std::vector<VitBlock> block_list_;
  int64_t image_size_;
};
TORCH_MODULE(VisionTransformer);

class ProjectionHeadImpl : public torch::nn::Module {
 public:
  ProjectionHeadImpl(int64_t width, int64_t embed_dim);
  Linear proj{nullptr};
};
TORCH_MODULE(ProjectionHead);

// open_clip TimmModel: `trunk` (the ViT) and `head.proj` (bias-free projection of the class token).
class OpenClipVisionImpl : public torch::nn::Module {
 public:
  explicit OpenClipVisionImpl(const VisionConfig& c);
  torch::Tensor forward_tokens(const torch::Tensor& pixels) { return trunk->forward_features(pixels); }
  torch::Tensor pooled(const torch::Tensor& tokens) { return tokens.select(1, 0); }
  // The CLIP image embedding, head(class token); open_clip's encode_image(normalize=false).
  torch::Tensor image_embeds(const torch::Tensor& tokens) { return head->proj(pooled(tokens)); }

  VisionConfig config;
  VisionTransformer trunk{nullptr};
  ProjectionHead head{nullptr};
};
TORCH_MODULE(OpenClipVision);

}  // namespace medvqa::model
