#include "train/loss.h"

namespace medvqa::train {

torch::Tensor answer_token_losses(model::MedVqaModel& model, const Batch& batch, double label_smoothing) {
  auto prefix = model->image_prefix(batch.pixels);
  auto [embeds, mask] = model->language_inputs(prefix, batch.input_ids, batch.attention_mask);
  auto hidden = model->language_model->transformer(embeds, mask);
  const int64_t Q = prefix.size(1), T = batch.input_ids.size(1);
  auto targets = batch.labels != -100;
  auto h = hidden.narrow(1, Q, T).index({targets});
  auto logits = model->language_model->logits(h).to(torch::kFloat32);
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, batch.labels.index({targets}),
                          F::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(label_smoothing));
}

}  // namespace medvqa::train
