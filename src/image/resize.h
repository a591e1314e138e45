#pragma once
#include "image/image.h"

namespace medvqa::image {

// Pillow 9.4's Image.resize((width, height), Image.BICUBIC), bit-exact for 8-bit images: palette
// images are resized by nearest neighbour (PIL overrides the filter for them), images with alpha
// in premultiplied form, and everything else by PIL's antialiased fixed-point bicubic. 16-bit
// images must go through to_8bit() first.
Image resize_bicubic(const Image& image, int width, int height);
// The same with portable loops (what CPUs without AVX2 run; tests compare the two).
Image resize_bicubic_portable(const Image& image, int width, int height);

}  // namespace medvqa::image
