#pragma once
#include <torch/torch.h>

namespace medvqa::model {

// Initialises every parameter for training from scratch the way the reference libraries'
// _init_weights do: weights (linear, conv, embedding, learned tokens/positions) N(0, std²),
// biases 0, LayerNorm weight 1 and bias 0. LoRA branches keep PEFT's initialisation.
void init_weights(torch::nn::Module& module, double std = 0.02, uint64_t seed = 0);

}  // namespace medvqa::model
