// The perceptual hash the data audit finds near-duplicate images with: copies that were resized,
// re-encoded or brightened stay close, different pictures do not.
#include <gtest/gtest.h>

#include <cmath>

#include "encode.h"
#include "image/image.h"
#include "image/perceptual_hash.h"
#include "image/resize.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

// A gray scan-like picture: a bright ellipse ("body") with a darker blob inside at (bx, by), on a
// dark background, with a fine texture.
Image phantom(int size, double bx, double by) {
  Image im;
  im.width = im.height = size;
  im.channels = 1;
  im.pixels.resize(size_t(size) * size_t(size));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double u = (x + 0.5) / size - 0.5, v = (y + 0.5) / size - 0.5;
      double value = 20;
      if (u * u / 0.16 + v * v / 0.09 < 1) value = 170 + 20 * std::sin(40 * u) * std::cos(30 * v);
      if ((u - bx) * (u - bx) + (v - by) * (v - by) < 0.008) value = 60;
      im.pixels[size_t(y) * size_t(size) + size_t(x)] = uint8_t(value);
    }
  return im;
}

Image brighter(Image im, int delta) {
  for (auto& p : im.pixels) p = uint8_t(std::min(255, p + delta));
  return im;
}

Image reencoded_jpeg(const Image& im, int quality) {
  auto bytes = testing::encode_jpeg(im.width, im.height, 1, im.pixels, quality);
  return decode_image(bytes.data(), bytes.size(), "reencoded");
}

TEST(PerceptualHash, CopiesStayCloseAndDifferentPicturesDoNot) {
  const Image original = phantom(256, 0.15, 0.05);
  const uint64_t h = perceptual_hash(original);
  const int resized = hash_distance(h, perceptual_hash(resize_bicubic(original, 112, 112)));
  const int jpeg = hash_distance(h, perceptual_hash(reencoded_jpeg(original, 50)));
  const int bright = hash_distance(h, perceptual_hash(brighter(original, 15)));
  const int other = hash_distance(h, perceptual_hash(phantom(256, -0.15, -0.05)));
  std::cout << "distances: resized " << resized << ", jpeg q50 " << jpeg << ", brighter " << bright
            << ", lesion moved " << other << "\n";
  EXPECT_LE(resized, 4);
  EXPECT_LE(jpeg, 4);
  EXPECT_LE(bright, 4);
  EXPECT_GE(other, 10);
}

TEST(PerceptualHash, GrayAndItsRgbCopyHashAlike) {
  const Image gray = phantom(64, 0.1, 0.1);
  Image rgb = gray;
  rgb.channels = 3;
  rgb.pixels.clear();
  for (uint8_t p : gray.pixels) rgb.pixels.insert(rgb.pixels.end(), {p, p, p});
  EXPECT_EQ(perceptual_hash(gray), perceptual_hash(rgb));
}

TEST(PerceptualHash, ImagesSmallerThanTheGridAndEmptyOnes) {
  Image tiny = phantom(5, 0, 0);
  EXPECT_NO_THROW(perceptual_hash(tiny));
  EXPECT_THROW(perceptual_hash(Image{}), Error);
}

}  // namespace
}  // namespace medvqa::image
