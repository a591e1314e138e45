#include "train/loss.h"

#include "model/autocast.h"

namespace medvqa::train {

AutocastGuard::AutocastGuard(bool enabled, torch::Device device) : enabled_(enabled), type_(device.type()) {
  if (!enabled_) return;
  was_enabled_ = model::autocast_enabled(type_);
  model::set_autocast(type_, true, at::kBFloat16);
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_ || was_enabled_) return;
  model::set_autocast(type_, false, at::kBFloat16);
  at::autocast::clear_cache();
}

torch::Tensor answer_token_losses(model::MedVqaModel& model, const Batch& batch) {
  auto prefix = model->image_prefix(batch.pixels);
  auto [embeds, mask] = model->language_inputs(prefix, batch.input_ids, batch.attention_mask);
  auto hidden = model->language_model->transformer(embeds, mask);
  const int64_t Q = prefix.size(1), T = batch.input_ids.size(1);
  auto targets = batch.labels != -100;
  auto h = hidden.narrow(1, Q, T).index({targets});
  auto logits = model->language_model->logits(h).to(torch::kFloat32);
  return torch::nn::functional::cross_entropy(logits, batch.labels.index({targets}),
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

}  // namespace medvqa::train
