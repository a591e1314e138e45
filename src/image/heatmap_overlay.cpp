#include "image/heatmap_overlay.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "image/preprocess.h"
#include "image/resize.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

// A jet-like ramp: blue, cyan, green, yellow, red.
std::array<float, 3> ramp(float v) {
  static constexpr float kStops[5][3] = {{0, 0, 255}, {0, 255, 255}, {0, 255, 0}, {255, 255, 0}, {255, 0, 0}};
  float t = std::clamp(v, 0.0f, 1.0f) * 4.0f;
  int i = std::min(int(t), 3);
  float f = t - float(i);
  return {kStops[i][0] + f * (kStops[i + 1][0] - kStops[i][0]), kStops[i][1] + f * (kStops[i + 1][1] - kStops[i][1]),
          kStops[i][2] + f * (kStops[i + 1][2] - kStops[i][2])};
}

}  // namespace

Image model_view(const Image& image, int max_side) {
  Image rgb = to_rgb(image);
  Image square = center_crop(rgb, std::min(rgb.width, rgb.height));
  if (square.width > max_side) square = resize_bicubic(square, max_side, max_side);
  return square;
}

Image overlay_heatmap(const Image& view, const std::vector<float>& values, int grid, double opacity) {
  if (view.channels != 3 || view.bit_depth != 8 || view.is_palette())
    throw Error("heat map overlay: expected an 8-bit RGB image");
  if (grid <= 0 || values.size() != size_t(grid) * size_t(grid))
    throw Error("heat map overlay: " + std::to_string(values.size()) + " values for a " + std::to_string(grid) + "x" +
                std::to_string(grid) + " grid");
  Image out = view;
  auto at = [&](int r, int c) { return values[size_t(std::clamp(r, 0, grid - 1)) * size_t(grid) + size_t(std::clamp(c, 0, grid - 1))]; };
  for (int y = 0; y < view.height; ++y) {
    // Patch centres sit at (k + 0.5) of grid / side pixels.
    float gy = (float(y) + 0.5f) * float(grid) / float(view.height) - 0.5f;
    int r = int(std::floor(gy));
    float fy = gy - float(r);
    for (int x = 0; x < view.width; ++x) {
      float gx = (float(x) + 0.5f) * float(grid) / float(view.width) - 0.5f;
      int c = int(std::floor(gx));
      float fx = gx - float(c);
      float v = (1 - fy) * ((1 - fx) * at(r, c) + fx * at(r, c + 1)) + fy * ((1 - fx) * at(r + 1, c) + fx * at(r + 1, c + 1));
      v = std::clamp(v, 0.0f, 1.0f);
      const float alpha = float(opacity) * v;
      const auto color = ramp(v);
      uint8_t* p = &out.pixels[(size_t(y) * size_t(view.width) + size_t(x)) * 3];
      for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround((1 - alpha) * float(p[k]) + alpha * color[size_t(k)]));
    }
  }
  return out;
}

}  // namespace medvqa::image
