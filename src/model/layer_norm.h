#pragma once
#include <torch/torch.h>

namespace medvqa::model {

// nn.LayerNorm over the last dimension (parameters `weight`, `bias`). bf16 inputs on the CPU
// are normalized in fp32: libtorch 1.13's bf16 kernel there is ~10x slower than converting to
// fp32 and back (0.74 vs 0.06 ms for one 197 x 768 ViT activation); bf16 models at inference go
// through a one-pass kernel (bf16_kernels.h) that also skips those conversions.
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t dim;
  double eps;
  torch::Tensor weight, bias;
};
TORCH_MODULE(LayerNorm);

}  // namespace medvqa::model
