#pragma once
#include <torch/torch.h>

#include <string>

#include "model/bloom.h"
#include "model/config.h"
#include "model/vit.h"

namespace medvqa::model {

// open_clip's HFTextEncoder with a BLOOM decoder as its transformer: the text's embedding is the
// hidden state of its last real token (the EOS every text ends with; a causal decoder has seen the
// whole text there), projected to the shared embedding width. Keys `text.transformer.*`,
// `text.proj.weight`, as open_clip names an HF text tower with a linear projection.
class ClipTextImpl : public torch::nn::Module {
 public:
  ClipTextImpl(const BloomConfig& config, int64_t embed_dim);
  // ids, mask: [B,T] right-padded (mask 1 on real tokens) → [B,embed_dim], not normalized.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  BloomModel transformer{nullptr};
  Linear proj{nullptr};
};
TORCH_MODULE(ClipText);

// open_clip's CustomTextCLIP: `visual` (the timm ViT tower medvqa's model uses, same keys),
// `text`, and `logit_scale` (log of the inverse temperature, learned, open_clip's init ln(1/0.07)).
class ClipModelImpl : public torch::nn::Module {
 public:
  ClipModelImpl(const VisionConfig& vision, const BloomConfig& text);
  // L2-normalized embeddings.
  torch::Tensor encode_image(const torch::Tensor& pixels);
  torch::Tensor encode_text(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  VisionConfig vision_config;
  BloomConfig text_config;
  OpenClipVision visual{nullptr};
  ClipText text{nullptr};
  torch::Tensor logit_scale;
};
TORCH_MODULE(ClipModel);

// An open_clip directory: open_clip_config.json (model_cfg.vision_cfg as BiomedCLIP's, text_cfg
// naming the BLOOM text tower and its config) and open_clip_model.safetensors. `vision_weights` of
// a medvqa model config and load_open_clip_vision read the vision tower from it.
void save_open_clip(ClipModel& model, const std::string& dir);
ClipModel load_open_clip(const std::string& dir);

}  // namespace medvqa::model
