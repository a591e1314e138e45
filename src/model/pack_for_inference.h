#pragma once
// Inference storage for a loaded model: linear weights (and BLOOM's tied embedding) moved into
// PackedWeight (packed_weight.h) and their parameter tensors released. A packed model answers
// faster and in less memory, and can no longer be trained or saved (save_medvqa refuses it).
#include <torch/torch.h>

#include "model/bloom.h"
#include "model/linear.h"
#include "model/medvqa_model.h"
#include "model/packed_weight.h"

namespace medvqa::model {

// One Linear's weight in `format` (float32: left as it is).
void pack_linear(LinearImpl& linear, WeightFormat format);
// Every Linear in `module` and its submodules.
void pack_linears(torch::nn::Module& module, WeightFormat format);

// BLOOM's blocks' linear weights and its tied embedding, which then serves both the embedding
// lookup and the logits (LayerNorms and biases stay in the model's dtype; a bf16 model's bf16
// weights become panels where the CPU has AVX512-BF16).
void pack_for_inference(BloomForCausalLMImpl& language_model, WeightFormat format);

// The language model in `language_model_format`; in a bf16 model on a CPU with AVX512-BF16 the
// image side's linear weights (ViT, Q-Former, projection) too, as bf16 panels: only there do its
// products gain.
void pack_for_inference(MedVqaModelImpl& model, WeightFormat language_model_format);

}  // namespace medvqa::model
