#include "model/vit.h"

#include <cmath>

#include "io/error.h"
#include "model/activations.h"

namespace medvqa::model {

PatchEmbedImpl::PatchEmbedImpl(int64_t patch_size, int64_t width) {
  proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, patch_size).stride(patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& pixels) { return proj(pixels).flatten(2).transpose(1, 2); }

VitAttentionImpl::VitAttentionImpl(int64_t width, int64_t num_heads) : num_heads_(num_heads) {
  qkv = register_module("qkv", Linear(width, 3 * width));
  proj = register_module("proj", Linear(width, width));
}

torch::Tensor VitAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), hd = C / num_heads_;
  auto qkv_ = qkv(x).reshape({B, N, 3, num_heads_, hd}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0] * (1.0 / std::sqrt(double(hd)));
  auto attn = torch::softmax(torch::matmul(q, qkv_[1].transpose(-2, -1)), -1);
  return proj(torch::matmul(attn, qkv_[2]).transpose(1, 2).reshape({B, N, C}));
}

VitMlpImpl::VitMlpImpl(int64_t width, int64_t hidden) {
  fc1 = register_module("fc1", Linear(width, hidden));
  fc2 = register_module("fc2", Linear(hidden, width));
}

torch::Tensor VitMlpImpl::forward(const torch::Tensor& x) { return fc2(gelu_erf(fc1(x))); }

VitBlockImpl::VitBlockImpl(const VisionConfig& c) {
  norm1 = register_module("norm1", LayerNorm(c.width, c.layer_norm_eps));
  attn = register_module("attn", VitAttention(c.width, c.num_heads));
  norm2 = register_module("norm2", LayerNorm(c.width, c.layer_norm_eps));
  mlp = register_module("mlp", VitMlp(c.width, int64_t(c.width * c.mlp_ratio)));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x) {
  auto h = x + attn(norm1(x));
  return h + mlp(norm2(h));
}

VisionTransformerImpl::VisionTransformerImpl(const VisionConfig& c) : image_size_(c.image_size) {
  patch_embed = register_module("patch_embed", PatchEmbed(c.patch_size, c.width));
  cls_token = register_parameter("cls_token", torch::randn({1, 1, c.width}) * 1e-6);
  pos_embed = register_parameter("pos_embed", torch::randn({1, 1 + c.num_patches(), c.width}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    block_list_.push_back(VitBlock(c));
    blocks->push_back(block_list_.back());
  }
  norm = register_module("norm", LayerNorm(c.width, c.layer_norm_eps));
}

torch::Tensor VisionTransformerImpl::forward_features(const torch::Tensor& pixels,
                                                      std::vector<torch::Tensor>* intermediates) {
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != image_size_ || pixels.size(3) != image_size_)
    throw Error("vision tower expects pixels [B,3," + std::to_string(image_size_) + "," + std::to_string(image_size_) +
                "], got " + c10::str(pixels.sizes()));
  auto x = patch_embed(pixels.to(cls_token.scalar_type()));
  if (intermediates) intermediates->push_back(x);
  x = torch::cat({cls_token.expand({x.size(0), -1, -1}), x}, 1) + pos_embed;
  if (intermediates) intermediates->push_back(x);
  for (auto& block : block_list_) {
    x = block(x);
    if (intermediates) intermediates->push_back(x);
  }
  return norm(x);
}

ProjectionHeadImpl::ProjectionHeadImpl(int64_t width, int64_t embed_dim) {
  proj = register_module("proj", Linear(width, embed_dim, /*bias=*/false));
}

OpenClipVisionImpl::OpenClipVisionImpl(const VisionConfig& c) : config(c) {
  trunk = register_module("trunk", VisionTransformer(c));
  head = register_module("head", ProjectionHead(c.width, c.embed_dim));
}

}  // namespace medvqa::model
