// Decoding of every PNG/JPEG layout PIL opens, and clean errors for everything else.
#include <gtest/gtest.h>
#include <png.h>

#include <fstream>

#include "encode.h"
#include "image/image.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::image {
namespace {

using testing::encode_jpeg;
using testing::encode_png;
using testing::PngSpec;

// Runs `f`, which must throw medvqa::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

Image decode(const std::vector<uint8_t>& bytes, const DecodeOptions& options = {}) {
  return decode_image(bytes.data(), bytes.size(), "test-image", options);
}

std::vector<uint8_t> ramp(size_t n, int step = 7) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * step);
  return v;
}

TEST(DecodePng, EightBitLayoutsKeepTheirChannels) {
  const struct {
    int color_type;
    int channels;
  } layouts[] = {
      {PNG_COLOR_TYPE_GRAY, 1}, {PNG_COLOR_TYPE_GRAY_ALPHA, 2}, {PNG_COLOR_TYPE_RGB, 3}, {PNG_COLOR_TYPE_RGB_ALPHA, 4}};
  for (const auto& l : layouts) {
    for (bool interlaced : {false, true}) {
      SCOPED_TRACE(std::to_string(l.color_type) + (interlaced ? " interlaced" : ""));
      PngSpec spec{13, 9, l.color_type, 8, interlaced, ramp(13 * 9 * l.channels)};
      const Image img = decode(encode_png(spec));
      EXPECT_EQ(img.width, 13);
      EXPECT_EQ(img.height, 9);
      EXPECT_EQ(img.channels, l.channels);
      EXPECT_EQ(img.bit_depth, 8);
      EXPECT_FALSE(img.is_palette());
      EXPECT_EQ(img.pixels, spec.samples);
    }
  }
}

TEST(DecodePng, TransparencyKeyIsIgnoredLikePil) {
  PngSpec spec{4, 2, PNG_COLOR_TYPE_RGB, 8, false, ramp(4 * 2 * 3), {}, {0, 7, 0, 14, 0, 21}};
  const Image img = decode(encode_png(spec));
  EXPECT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels, spec.samples);
}

TEST(DecodePng, PaletteWithTransparencyKeepsIndices) {
  PngSpec spec{5, 3, PNG_COLOR_TYPE_PALETTE, 8, false, {}, {10, 20, 30, 40, 50, 60, 70, 80, 90}, {0, 128}};
  for (int i = 0; i < 15; ++i) spec.samples.push_back(uint8_t(i % 3));
  const Image img = decode(encode_png(spec));
  ASSERT_TRUE(img.is_palette());
  EXPECT_EQ(img.channels, 1);
  EXPECT_EQ(img.pixels, spec.samples);
  EXPECT_EQ(std::vector<uint8_t>(img.palette.begin(), img.palette.begin() + 9), spec.palette);
  EXPECT_EQ(img.palette[3 * 200], 200) << "undefined entries follow PIL's gray ramp";
}

TEST(DecodePng, LowBitDepths) {
  // 4-bit palette: indices unpacked to one byte each.
  PngSpec pal{4, 1, PNG_COLOR_TYPE_PALETTE, 4, false, {0x01, 0x23}, ramp(4 * 3, 20)};
  Image img = decode(encode_png(pal));
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 1, 2, 3}));
  // 4-bit gray scales to 0..255 (x17), as PIL's "L;4".
  PngSpec gray4{4, 1, PNG_COLOR_TYPE_GRAY, 4, false, {0x0F, 0x81}};
  img = decode(encode_png(gray4));
  EXPECT_FALSE(img.is_palette());
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 255, 136, 17}));
  // 1-bit gray is PIL mode "1": black/white palette.
  PngSpec gray1{8, 1, PNG_COLOR_TYPE_GRAY, 1, false, {0xA5}};
  img = decode(encode_png(gray1));
  ASSERT_TRUE(img.is_palette());
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{1, 0, 1, 0, 0, 1, 0, 1}));
  EXPECT_EQ(to_rgb(img).pixels[0], 255);
  EXPECT_EQ(to_rgb(img).pixels[3], 0);
}

TEST(DecodePng, SixteenBitGrayStaysSixteenBit) {
  const std::vector<uint8_t> big_endian = {0x00, 0x01, 0x0F, 0xFF, 0x12, 0x34, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00};
  PngSpec spec{3, 2, PNG_COLOR_TYPE_GRAY, 16, true, big_endian};
  const Image img = decode(encode_png(spec));
  EXPECT_EQ(img.bit_depth, 16);
  EXPECT_EQ(img.channels, 1);
  EXPECT_EQ(img.pixels16, (std::vector<uint16_t>{1, 4095, 0x1234, 65535, 32768, 0}));
}

TEST(DecodePng, SixteenBitColorKeepsHighByteLikePil) {
  const std::vector<uint8_t> big_endian = {0x12, 0xFF, 0x34, 0x00, 0x56, 0x80, 0xAB, 0x01, 0xCD, 0x7F, 0xEF, 0xFF};
  PngSpec spec{2, 1, PNG_COLOR_TYPE_RGB, 16, false, big_endian};
  const Image img = decode(encode_png(spec));
  EXPECT_EQ(img.bit_depth, 8);
  EXPECT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0x12, 0x34, 0x56, 0xAB, 0xCD, 0xEF}));
}

TEST(DecodeJpeg, GrayAndColor) {
  const Image gray = decode(encode_jpeg(16, 8, 1, std::vector<uint8_t>(16 * 8, 77)));
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.width, 16);
  EXPECT_EQ(gray.height, 8);
  for (uint8_t v : gray.pixels) EXPECT_NEAR(v, 77, 1);
  std::vector<uint8_t> red(20 * 10 * 3);
  for (size_t i = 0; i < red.size(); i += 3) red[i] = 200;
  const Image color = decode(encode_jpeg(20, 10, 3, red));
  EXPECT_EQ(color.channels, 3);
  EXPECT_NEAR(color.pixels[0], 200, 3);
  EXPECT_NEAR(color.pixels[1], 0, 3);
}

TEST(DecodeErrors, Empty) {
  expect_error([] { decode_image(nullptr, 0, "empty.png"); }, {"empty.png", "empty"});
  expect_error([] { decode({}); }, {"test-image", "empty"});
}

TEST(DecodeErrors, UnknownFormat) {
  const std::string text = "GIF89a this is not something we decode";
  expect_error([&] { decode(std::vector<uint8_t>(text.begin(), text.end())); },
               {"test-image", "unsupported image format"});
  expect_error([] { decode({0xFF}); }, {"unsupported image format"});
}

TEST(DecodeErrors, TruncatedJpeg) {
  const auto full = encode_jpeg(64, 48, 3, ramp(64 * 48 * 3));
  for (size_t keep : {size_t(3), size_t(20), full.size() / 2, full.size() - 40}) {
    SCOPED_TRACE(keep);
    std::vector<uint8_t> cut(full.begin(), full.begin() + keep);
    expect_error([&] { decode(cut); }, {"test-image", "invalid JPEG"});
  }
}

TEST(DecodeErrors, TruncatedPng) {
  PngSpec spec{64, 48, PNG_COLOR_TYPE_RGB, 8, false, ramp(64 * 48 * 3)};
  const auto full = encode_png(spec);
  for (size_t keep : {size_t(8), size_t(30), full.size() / 2, full.size() - 20}) {
    SCOPED_TRACE(keep);
    std::vector<uint8_t> cut(full.begin(), full.begin() + keep);
    expect_error([&] { decode(cut); }, {"test-image", "invalid PNG"});
  }
}

TEST(DecodeErrors, CorruptBytes) {
  PngSpec spec{32, 32, PNG_COLOR_TYPE_GRAY, 8, false, ramp(32 * 32)};
  auto png = encode_png(spec);
  for (size_t i = 40; i < png.size() - 12; ++i) png[i] ^= 0x5A;
  expect_error([&] { decode(png); }, {"test-image", "invalid PNG"});

  auto jpeg = encode_jpeg(32, 32, 1, ramp(32 * 32));
  for (size_t i = 4; i < 30; ++i) jpeg[i] = 0xFF ^ uint8_t(i);  // keeps the signature
  expect_error([&] { decode(jpeg); }, {"test-image", "invalid JPEG"});
}

TEST(DecodeErrors, DecompressionBomb) {
  expect_error([] { decode(testing::encode_png_header(100000, 100000)); },
               {"test-image", "100000x100000", "exceeds", "decompression bomb"});
  // The cap is configurable and applies to JPEG too.
  expect_error(
      [] {
        DecodeOptions o;
        o.max_pixels = 1000;
        decode(encode_jpeg(64, 48, 1, ramp(64 * 48)), o);
      },
      {"64x48", "exceeds"});
  EXPECT_NO_THROW(decode(encode_jpeg(64, 48, 1, ramp(64 * 48)), DecodeOptions{64 * 48}));
}

TEST(DecodeErrors, MissingFile) {
  medvqa::testing::TempDir dir;
  expect_error([&] { load_image(dir.file("nope.png")); }, {"nope.png", "cannot open"});
  const auto bytes = encode_jpeg(8, 8, 1, ramp(64));
  std::ofstream(dir.file("ok.jpg"), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  EXPECT_EQ(load_image(dir.file("ok.jpg")).width, 8);
}

}  // namespace
}  // namespace medvqa::image
