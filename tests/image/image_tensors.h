#pragma once
// Conversions between Image and the HWC/HW arrays (numpy layout of PIL images) the golden files hold.
#include <torch/types.h>

#include "image/image.h"

namespace medvqa::image::testing {

// uint8 [H, W] or [H, W, C] (palette images: the indices, as np.array gives them); 16-bit: int32 [H, W].
torch::Tensor to_tensor(const Image& image);

// `like` with its samples replaced by `pixels` (same layout as to_tensor gives), so a golden array
// can be fed to the pipeline while keeping the palette our decoder read.
Image with_pixels(const Image& like, const torch::Tensor& pixels);

}  // namespace medvqa::image::testing
