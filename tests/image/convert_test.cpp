// Mode conversions and PIL's mode-specific resize behaviour.
#include <gtest/gtest.h>

#include <array>
#include <random>

#include "image/image.h"
#include "image/preprocess.h"
#include "image/resize.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

Image make(int w, int h, int channels, std::vector<uint8_t> pixels) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = channels;
  img.pixels = std::move(pixels);
  return img;
}

TEST(ToRgb, GrayIsReplicated) {
  const Image rgb = to_rgb(make(2, 1, 1, {5, 250}));
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{5, 5, 5, 250, 250, 250}));
}

TEST(ToRgb, AlphaIsDroppedNotComposited) {
  EXPECT_EQ(to_rgb(make(2, 1, 2, {9, 0, 200, 128})).pixels, (std::vector<uint8_t>{9, 9, 9, 200, 200, 200}));
  EXPECT_EQ(to_rgb(make(2, 1, 4, {1, 2, 3, 0, 4, 5, 6, 255})).pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(ToRgb, PaletteIsExpanded) {
  Image img = make(3, 1, 1, {2, 0, 2});
  img.palette.assign(256 * 3, 0);
  img.palette[6] = 10;
  img.palette[7] = 20;
  img.palette[8] = 30;
  const Image rgb = to_rgb(img);
  EXPECT_FALSE(rgb.is_palette());
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{10, 20, 30, 0, 0, 0, 10, 20, 30}));
}

TEST(To8Bit, StretchesTheRealRange) {
  Image img;
  img.width = 4;
  img.height = 1;
  img.channels = 1;
  img.bit_depth = 16;
  img.pixels16 = {1000, 1001, 3000, 5000};
  const Image out = to_8bit(img);
  EXPECT_EQ(out.bit_depth, 8);
  EXPECT_TRUE(out.pixels16.empty());
  // (v - 1000) * 255 / 4000 rounded: 0, 0.06, 127.5 (half up), 255.
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{0, 0, 128, 255}));
  img.pixels16 = {700, 700, 700, 700};
  EXPECT_EQ(to_8bit(img).pixels, (std::vector<uint8_t>(4, 0)));
  EXPECT_EQ(to_rgb(img).channels, 3);
}

TEST(Resize, SameSizeIsIdentity) {
  const Image img = make(3, 2, 1, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(resize_bicubic(img, 3, 2).pixels, img.pixels);
}

TEST(Resize, ConstantImageStaysConstant) {
  for (int c : {1, 3}) {
    const Image img = make(37, 23, c, std::vector<uint8_t>(37 * 23 * c, 93));
    for (auto [w, h] : {std::pair{11, 7}, {80, 23}, {37, 50}, {100, 9}}) {
      const Image out = resize_bicubic(img, w, h);
      ASSERT_EQ(out.pixels.size(), size_t(w) * h * c);
      for (uint8_t v : out.pixels) ASSERT_EQ(v, 93);
    }
  }
}

// The vectorized passes compute the same integer sums as the portable loops: the same bytes, for
// every channel count, downscales and upscales, widths with and without a tail of 8.
TEST(Resize, VectorizedPassesEqualThePortableLoops) {
  std::mt19937 rng(3);
  for (int c = 1; c <= 4; ++c)
    for (auto [w, h, out_w, out_h] : {std::array{256, 256, 112, 112}, {37, 23, 11, 50}, {240, 180, 241, 97}, {9, 300, 5, 4}}) {
      std::vector<uint8_t> px(size_t(w) * h * c);
      for (auto& p : px) p = uint8_t(rng() % 3 == 0 ? 255 * (rng() % 2) : rng() % 256);  // edges ring the most
      const Image img = make(w, h, c, px);
      EXPECT_EQ(resize_bicubic(img, out_w, out_h).pixels, resize_bicubic_portable(img, out_w, out_h).pixels)
          << w << "x" << h << "x" << c << " -> " << out_w << "x" << out_h;
    }
}

TEST(Resize, PaletteUsesNearestNeighbour) {
  Image img = make(4, 4, 1, {});
  for (int i = 0; i < 16; ++i) img.pixels.push_back(uint8_t(i * 10));
  img.palette.assign(256 * 3, 0);
  const Image out = resize_bicubic(img, 2, 2);
  ASSERT_TRUE(out.is_palette());
  // Source pixel (int((x + 0.5) * 2), int((y + 0.5) * 2)).
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{50, 70, 130, 150}));
}

TEST(Resize, TransparentColorDoesNotBleed) {
  // Left half opaque red, right half fully transparent green: resizing premultiplied keeps the
  // green out of the visible pixels, as PIL does for RGBA.
  Image img = make(16, 4, 4, {});
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 16; ++x) {
      const bool left = x < 8;
      img.pixels.insert(img.pixels.end(),
                        {uint8_t(left ? 255 : 0), uint8_t(left ? 0 : 255), 0, uint8_t(left ? 255 : 0)});
    }
  const Image out = resize_bicubic(img, 6, 4);
  for (int x = 0; x < 6; ++x) {
    const uint8_t* p = &out.pixels[size_t(x) * 4];
    if (p[3] > 0) {
      EXPECT_EQ(p[1], 0) << "x=" << x;
      EXPECT_GE(p[0], 250) << "x=" << x;
    }
  }
}

TEST(Resize, RejectsBadInput) {
  EXPECT_THROW(resize_bicubic(make(2, 2, 1, {1, 2, 3, 4}), 0, 3), Error);
  EXPECT_THROW(resize_bicubic(make(2, 2, 1, {1, 2, 3}), 3, 3), Error);
  Image sixteen;
  sixteen.width = sixteen.height = sixteen.channels = 1;
  sixteen.bit_depth = 16;
  sixteen.pixels16 = {1};
  EXPECT_THROW(resize_bicubic(sixteen, 2, 2), Error);
}

TEST(Geometry, ShortestSideFollowsTorchvision) {
  const auto size_after = [](int w, int h, int s) {
    const Image r = resize_shortest_side(make(w, h, 1, std::vector<uint8_t>(size_t(w) * h, 1)), s);
    return std::pair{r.width, r.height};
  };
  EXPECT_EQ(size_after(300, 217, 224), (std::pair{309, 224}));  // int(224 * 300 / 217) = 309
  EXPECT_EQ(size_after(97, 640, 224), (std::pair{224, 1477}));  // int(1477.94...) truncated
  EXPECT_EQ(size_after(50, 50, 224), (std::pair{224, 224}));
  EXPECT_EQ(size_after(224, 500, 224), (std::pair{224, 500}));  // already right: untouched
}

TEST(Geometry, CenterCropRoundsHalfToEven) {
  // Widths 5, 7 cropped to 2: offsets round(1.5) = 2 and round(2.5) = 2.
  for (auto [w, left] : {std::pair{5, 2}, {7, 2}, {6, 2}, {4, 1}}) {
    Image img = make(w, 2, 1, {});
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < w; ++x) img.pixels.push_back(uint8_t(x));
    const Image out = center_crop(img, 2);
    EXPECT_EQ(out.pixels[0], left) << "w=" << w;
  }
  EXPECT_THROW(center_crop(make(2, 2, 1, {1, 2, 3, 4}), 3), Error);
}

TEST(Preprocess, ShapesAndNormalization) {
  PreprocessConfig config;
  config.image_size = 8;
  const Image white = make(10, 20, 3, std::vector<uint8_t>(10 * 20 * 3, 255));
  const auto x = preprocess(white, config);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 8, 8}));
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(x[c][0][0].item<float>(), (1.0f - config.mean[c]) / config.std[c]);
  const auto batch = preprocess_batch({white, make(9, 9, 1, std::vector<uint8_t>(81, 0))}, config);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  EXPECT_FLOAT_EQ(batch[1][2][3][4].item<float>(), -config.mean[2] / config.std[2]);
  EXPECT_THROW(preprocess_batch({}, config), Error);
}

}  // namespace
}  // namespace medvqa::image
