#pragma once
// Tiny in-memory encoders so tests can build exactly the files they need.
#include <cstdint>
#include <vector>

namespace medvqa::image::testing {

struct PngSpec {
  int width = 0;
  int height = 0;
  int color_type = 0;  // PNG_COLOR_TYPE_*
  int bit_depth = 8;
  bool interlaced = false;
  std::vector<uint8_t> samples;  // packed rows exactly as PNG stores them (16-bit big-endian)
  std::vector<uint8_t> palette;  // RGB triples, for palette images
  std::vector<uint8_t> trns;     // tRNS alphas (palette) or a big-endian color key (gray, RGB)
};

std::vector<uint8_t> encode_png(const PngSpec& spec);
// Only the signature and IHDR (valid CRC), as a bomb's header would look.
std::vector<uint8_t> encode_png_header(uint32_t width, uint32_t height);
// 8-bit, 1 (gray) or 3 (RGB) components.
std::vector<uint8_t> encode_jpeg(int width, int height, int channels, const std::vector<uint8_t>& pixels,
                                 int quality = 90);

}  // namespace medvqa::image::testing
