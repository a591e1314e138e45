#include "model/medvqa_model.h"

#include "io/error.h"

namespace medvqa::model {

MedVqaModelImpl::MedVqaModelImpl(const MedVqaConfig& c) : config(c) {
  if (c.qformer.encoder_hidden_size != c.vision.width)
    throw Error("model config: qformer encoder_hidden_size " + std::to_string(c.qformer.encoder_hidden_size) +
                " differs from the vision width " + std::to_string(c.vision.width));
  visual = register_module("visual", OpenClipVision(c.vision));
  query_tokens = register_parameter("query_tokens", torch::randn({1, c.num_query_tokens, c.qformer.hidden_size}) * 0.02);
  qformer = register_module("qformer", QFormerModel(c.qformer));
  language_projection = register_module("language_projection", Linear(c.qformer.hidden_size, c.text.hidden_size));
  language_model = register_module("language_model", BloomForCausalLM(c.text));
}

torch::Tensor MedVqaModelImpl::image_prefix_from_tokens(const torch::Tensor& image_tokens) {
  auto queries = query_tokens.expand({image_tokens.size(0), -1, -1});
  return language_projection(qformer(queries, image_tokens));
}

torch::Tensor MedVqaModelImpl::image_prefix(const torch::Tensor& pixels) {
  return image_prefix_from_tokens(visual->forward_tokens(pixels));
}

std::pair<torch::Tensor, torch::Tensor> MedVqaModelImpl::language_inputs(const torch::Tensor& prefix,
                                                                         const torch::Tensor& input_ids,
                                                                         const torch::Tensor& attention_mask) {
  if (prefix.size(0) != input_ids.size(0))
    throw Error("batch of " + std::to_string(prefix.size(0)) + " images but " + std::to_string(input_ids.size(0)) +
                " prompts");
  auto text = language_model->embed(input_ids.to(prefix.device()));
  auto embeds = torch::cat({prefix.to(text.scalar_type()), text}, 1);
  auto mask = torch::cat({torch::ones({prefix.size(0), prefix.size(1)}, attention_mask.options().device(prefix.device())),
                          attention_mask.to(prefix.device())},
                         1);
  return {embeds, mask};
}

torch::Tensor MedVqaModelImpl::forward(const torch::Tensor& pixels, const torch::Tensor& input_ids,
                                       const torch::Tensor& attention_mask) {
  auto [embeds, mask] = language_inputs(image_prefix(pixels), input_ids, attention_mask);
  return language_model->logits(language_model->transformer(embeds, mask));
}

GenerationResult MedVqaModelImpl::generate(const torch::Tensor& pixels, const torch::Tensor& input_ids,
                                           const torch::Tensor& attention_mask, const GenerationOptions& options) {
  torch::NoGradGuard no_grad;
  auto [embeds, mask] = language_inputs(image_prefix(pixels), input_ids, attention_mask);
  return model::generate(language_model, embeds, mask, options);
}

}  // namespace medvqa::model
