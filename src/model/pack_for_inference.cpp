#include "model/pack_for_inference.h"

#include "io/error.h"

namespace medvqa::model {

void pack_linear(LinearImpl& linear, WeightFormat format) {
  if (format == WeightFormat::kFloat32) return;
  if (linear.packed) throw Error("the weights are already packed (" + weight_format_name(linear.packed->format()) + ")");
  linear.packed = pack_and_release(linear.weight, format);
}

void pack_linears(torch::nn::Module& module, WeightFormat format) {
  for (auto& child : module.modules(/*include_self=*/true))
    if (auto* linear = dynamic_cast<LinearImpl*>(child.get())) pack_linear(*linear, format);
}

void pack_for_inference(BloomForCausalLMImpl& language_model, WeightFormat format) {
  if (format == WeightFormat::kFloat32) return;
  for (auto& block : language_model.transformer->blocks) pack_linears(*block, format);
  language_model.packed_embeddings = pack_and_release(language_model.transformer->word_embeddings->weight, format);
}

void pack_for_inference(MedVqaModelImpl& model, WeightFormat language_model_format) {
  pack_for_inference(*model.language_model, language_model_format);
  if (!bf16_panels_for(model.query_tokens.scalar_type(), model.query_tokens.device()) ||
      model.language_projection->packed)
    return;
  pack_linears(*model.visual, WeightFormat::kBFloat16);
  pack_linears(*model.qformer, WeightFormat::kBFloat16);
  pack_linear(*model.language_projection, WeightFormat::kBFloat16);
}

}  // namespace medvqa::model
