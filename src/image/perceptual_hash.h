#pragma once
#include <cstdint>

#include "image/image.h"

namespace medvqa::image {

// A 64-bit perceptual hash (the DCT "pHash"): the image in gray, averaged down to 32 × 32, its
// 2-D DCT-II, and one bit per coefficient of the 8 × 8 lowest frequencies saying whether it lies
// above their median (the DC term left out of the median). Resizing, recompression and small
// brightness or contrast changes move few bits; different pictures differ in about half of them.
// Any size and mode decode_image returns (16-bit through to_8bit, palette expanded).
uint64_t perceptual_hash(const Image& image);

// Bits in which two hashes differ (0..64).
int hash_distance(uint64_t a, uint64_t b);

}  // namespace medvqa::image
