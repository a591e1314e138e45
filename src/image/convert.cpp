#include <algorithm>

#include "image/image.h"
#include "io/error.h"

namespace medvqa::image {

Image to_8bit(const Image& image) {
  if (image.bit_depth == 8) return image;
  if (image.bit_depth != 16 || image.channels != 1) throw Error("to_8bit: unsupported pixel layout");
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = 1;
  out.pixels.resize(image.pixels16.size());
  if (image.pixels16.empty()) return out;
  const auto [lo_it, hi_it] = std::minmax_element(image.pixels16.begin(), image.pixels16.end());
  const uint32_t lo = *lo_it, range = *hi_it - lo;
  if (range == 0) return out;
  // Integer round-half-up of (v - lo) * 255 / range, so the result is exact and portable.
  for (size_t i = 0; i < out.pixels.size(); ++i)
    out.pixels[i] = uint8_t(((image.pixels16[i] - lo) * 510 + range) / (2 * range));
  return out;
}

Image to_rgb(const Image& image) {
  if (image.bit_depth != 8) return to_rgb(to_8bit(image));
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = 3;
  const size_t n = size_t(image.width) * size_t(image.height);
  out.pixels.resize(n * 3);
  const uint8_t* in = image.pixels.data();
  uint8_t* o = out.pixels.data();
  const int c = image.channels;
  if (c < 1 || c > 4 || image.pixels.size() != n * size_t(c) ||
      (image.is_palette() && (c != 1 || image.palette.size() != 256 * 3)))
    throw Error("to_rgb: invalid image (" + std::to_string(c) + " channels, " + std::to_string(image.pixels.size()) +
                " samples for " + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  if (image.is_palette()) {
    for (size_t i = 0; i < n; ++i) std::copy_n(&image.palette[size_t(in[i]) * 3], 3, o + i * 3);
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = in + i * c;
    if (c <= 2) {
      o[i * 3] = o[i * 3 + 1] = o[i * 3 + 2] = p[0];
    } else {
      std::copy_n(p, 3, o + i * 3);
    }
  }
  return out;
}

}  // namespace medvqa::image
