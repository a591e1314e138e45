#pragma once
#include <torch/torch.h>

#include <string>

#include "model/bloom.h"
#include "model/config.h"
#include "model/generation.h"
#include "model/qformer.h"
#include "model/vit.h"

namespace medvqa::model {

// The paper's model: image → ViT tokens → Q-Former (learned queries cross-attending to the
// tokens) → language_projection → prepended to the prompt embeddings → BLOOM.
// Parameter names: `visual.*` as open_clip (BiomedCLIP) names them; `query_tokens`, `qformer.*`,
// `language_projection.*`, `language_model.*` as transformers' Blip2ForConditionalGeneration does.
class MedVqaModelImpl : public torch::nn::Module {
 public:
  explicit MedVqaModelImpl(const MedVqaConfig& config);

  // [B,3,S,S] normalized pixels → the language model's image prefix [B,Q,text_hidden].
  torch::Tensor image_prefix(const torch::Tensor& pixels);
  // The prefix from ViT tokens that are already computed (e.g. cached per image).
  torch::Tensor image_prefix_from_tokens(const torch::Tensor& image_tokens);

  // [prefix ; word embeddings] and the matching mask [ones(Q) ; prompt mask].
  std::pair<torch::Tensor, torch::Tensor> language_inputs(const torch::Tensor& prefix, const torch::Tensor& input_ids,
                                                          const torch::Tensor& attention_mask);

  // Logits for every position of [queries ; prompt]: [B, Q+T, V].
  torch::Tensor forward(const torch::Tensor& pixels, const torch::Tensor& input_ids,
                        const torch::Tensor& attention_mask);

  GenerationResult generate(const torch::Tensor& pixels, const torch::Tensor& input_ids,
                            const torch::Tensor& attention_mask, const GenerationOptions& options);

  MedVqaConfig config;
  OpenClipVision visual{nullptr};
  torch::Tensor query_tokens;
  QFormerModel qformer{nullptr};
  Linear language_projection{nullptr};
  BloomForCausalLM language_model{nullptr};
};
TORCH_MODULE(MedVqaModel);

}  // namespace medvqa::model
