#pragma once
#include <torch/types.h>

#include <array>
#include <vector>

#include "image/image.h"

namespace medvqa::image {

// open_clip's eval transform (Resize(S, bicubic) -> CenterCrop(S) -> convert('RGB') -> ToTensor ->
// Normalize) as BiomedCLIP uses it. Defaults are OpenAI CLIP's statistics.
struct PreprocessConfig {
  int image_size = 224;
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
};

// torchvision 0.14 Resize(size) on a PIL image: the shorter side becomes `size`, the longer one
// int(size * long / short) (truncated); an image whose shorter side already is `size` is untouched.
Image resize_shortest_side(const Image& image, int size);

// torchvision CenterCrop(size): offsets round((extent - size) / 2) with Python's half-to-even
// rounding. The image must be at least size x size (true after resize_shortest_side).
Image center_crop(const Image& image, int size);

// ToTensor + Normalize on a 3-channel 8-bit image: float32 [3, H, W].
torch::Tensor normalize(const Image& rgb, const PreprocessConfig& config = {});

// The whole transform, float32 [3, S, S]. 16-bit images are first scaled with to_8bit(), the one
// deliberate departure from open_clip (which clamps them).
torch::Tensor preprocess(const Image& image, const PreprocessConfig& config = {});
// float32 [B, 3, S, S]; throws on an empty list.
torch::Tensor preprocess_batch(const std::vector<Image>& images, const PreprocessConfig& config = {});

}  // namespace medvqa::image
