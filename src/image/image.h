#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medvqa::image {

// Decoded pixels, interleaved, rows top to bottom, kept in the form PIL opens the file in, because
// open_clip resizes before converting to RGB and each PIL mode resizes differently:
//   8-bit, channels 1 (L), 2 (LA), 3 (RGB), 4 (RGBA): `pixels`.
//   8-bit palette (PIL "P"; also 1-bit gray, PIL "1", as a black/white palette since both resize
//     by nearest neighbour): channels 1, `pixels` are indices into `palette`.
//   16-bit gray (PIL "I"): channels 1, bit_depth 16, `pixels16`. Other 16-bit PNGs are reduced to
//     their high byte while decoding, as PIL does.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 8;
  std::vector<uint8_t> pixels;
  std::vector<uint16_t> pixels16;
  std::vector<uint8_t> palette;  // 256 RGB triples when the image is paletted, else empty

  bool is_palette() const { return !palette.empty(); }
  size_t sample_count() const { return size_t(width) * size_t(height) * size_t(channels); }
};

struct DecodeOptions {
  // Decompression-bomb guard: a header claiming more pixels is rejected before any pixel buffer is
  // allocated. 64 MP covers every scanner output the project meets.
  uint64_t max_pixels = 64'000'000;
};

// Decodes a JPEG or PNG held in memory, recognised by its magic bytes. `origin` (a path or a
// description) names the data in error messages. Throws medvqa::Error on anything it cannot decode.
Image decode_image(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options = {});
Image load_image(const std::string& path, const DecodeOptions& options = {});

// 16-bit images are stretched over their own min..max to 0..255 (rounded), so 12-bit scans keep
// their contrast instead of saturating as PIL's clamp to 0..255 would make them. A constant image
// becomes 0. 8-bit images are returned unchanged.
Image to_8bit(const Image& image);

// PIL's convert('RGB'): gray replicated, alpha dropped (not composited), palette expanded.
// 16-bit images go through to_8bit first.
Image to_rgb(const Image& image);

}  // namespace medvqa::image
