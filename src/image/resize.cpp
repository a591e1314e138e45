#include "image/resize.h"

#include <algorithm>
#include <cmath>

#include "io/error.h"

namespace medvqa::image {
namespace {

// Fixed-point format of PIL's 8-bit resampling: 32 bits minus 8 for the sample and 2 for headroom.
constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// For each output position along one axis: the first input index, the number of taps, and the
// fixed-point weights (stride `taps`). Mirrors PIL's precompute_coeffs + normalize_coeffs_8bpc so
// the rounding is identical.
struct Kernel {
  int taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

Kernel make_kernel(int in_size, int out_size) {
  const double scale = double(in_size) / out_size;
  // Downscaling widens the kernel by the scale factor: that is PIL's antialiasing.
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  Kernel k;
  k.taps = int(std::ceil(support)) * 2 + 1;
  k.first.resize(out_size);
  k.count.resize(out_size);
  k.weights.assign(size_t(out_size) * k.taps, 0);
  std::vector<double> w(k.taps);
  const double inv_scale = 1.0 / filter_scale;  // PIL multiplies by the reciprocal; dividing rounds differently
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const int xmin = std::max(int(center - support + 0.5), 0);
    const int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) * inv_scale);
      total += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? w[x] / total : w[x];
      k.weights[size_t(xx) * k.taps + x] =
          int32_t(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    k.first[xx] = xmin;
    k.count[xx] = xmax;
  }
  return k;
}

uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

// One output sample: the fixed-point sum over `count` taps of samples `stride` apart.
int32_t tap_sum(const uint8_t* src, size_t stride, const int32_t* wt, int count) {
  int32_t acc = 1 << (kPrecisionBits - 1);
  for (int x = 0; x < count; ++x) acc += src[x * stride] * wt[x];
  return acc;
}

// The two separable passes; every channel uses the same weights.
std::vector<uint8_t> resample_horizontal(const std::vector<uint8_t>& in, int in_w, int h, int channels, int out_w) {
  const Kernel k = make_kernel(in_w, out_w);
  std::vector<uint8_t> out(size_t(out_w) * h * channels);
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = in.data() + size_t(y) * in_w * channels;
    uint8_t* dst = out.data() + size_t(y) * out_w * channels;
    for (int xx = 0; xx < out_w; ++xx) {
      const int32_t* wt = k.weights.data() + size_t(xx) * k.taps;
      const uint8_t* src = row + size_t(k.first[xx]) * channels;
      if (channels == 3) {  // RGB, the common case: the three sums in one pass over the taps
        int32_t r = 1 << (kPrecisionBits - 1), g = r, b = r;
        for (int x = 0; x < k.count[xx]; ++x) {
          r += src[3 * x] * wt[x];
          g += src[3 * x + 1] * wt[x];
          b += src[3 * x + 2] * wt[x];
        }
        dst[xx * 3] = clip8(r);
        dst[xx * 3 + 1] = clip8(g);
        dst[xx * 3 + 2] = clip8(b);
        continue;
      }
      for (int c = 0; c < channels; ++c) dst[xx * channels + c] = clip8(tap_sum(src + c, size_t(channels), wt, k.count[xx]));
    }
  }
  return out;
}

std::vector<uint8_t> resample_vertical(const std::vector<uint8_t>& in, int w, int in_h, int channels, int out_h) {
  const Kernel k = make_kernel(in_h, out_h);
  const size_t stride = size_t(w) * channels;
  std::vector<uint8_t> out(stride * out_h);
  // Whole rows at a time (tap-major), so the sums over a row vectorize.
  std::vector<int32_t> acc(stride);
  for (int yy = 0; yy < out_h; ++yy) {
    const int32_t* wt = k.weights.data() + size_t(yy) * k.taps;
    const uint8_t* src = in.data() + size_t(k.first[yy]) * stride;
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < k.count[yy]; ++y) {
      const uint8_t* line = src + size_t(y) * stride;
      const int32_t weight = wt[y];
      for (size_t i = 0; i < stride; ++i) acc[i] += line[i] * weight;
    }
    uint8_t* dst = out.data() + size_t(yy) * stride;
    for (size_t i = 0; i < stride; ++i) dst[i] = clip8(acc[i]);
  }
  return out;
}

// PIL's ImagingScaleAffine: positions are accumulated in floating point, as PIL does, so the
// chosen source pixels match even where the accumulation drifts.
std::vector<uint8_t> resize_nearest(const Image& in, int out_w, int out_h) {
  const int c = in.channels;
  const double sx = double(in.width) / out_w, sy = double(in.height) / out_h;
  std::vector<int> src_x(out_w, -1);
  double xo = sx * 0.5;
  for (int x = 0; x < out_w; ++x, xo += sx) {
    const int xi = xo < 0.0 ? -1 : int(xo);
    if (xi < in.width) src_x[x] = xi;
  }
  std::vector<uint8_t> out(size_t(out_w) * out_h * c, 0);
  double yo = sy * 0.5;
  for (int y = 0; y < out_h; ++y, yo += sy) {
    const int yi = yo < 0.0 ? -1 : int(yo);
    if (yi < 0 || yi >= in.height) continue;
    const uint8_t* row = in.pixels.data() + size_t(yi) * in.width * c;
    uint8_t* dst = out.data() + size_t(y) * out_w * c;
    for (int x = 0; x < out_w; ++x)
      if (src_x[x] >= 0) std::copy_n(row + size_t(src_x[x]) * c, c, dst + size_t(x) * c);
  }
  return out;
}

// PIL's MULDIV255: a * b / 255 rounded, without a division.
int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

// The alpha channel is the last one (LA or RGBA).
void premultiply(std::vector<uint8_t>& px, int channels) {
  for (size_t i = 0; i < px.size(); i += channels) {
    const int alpha = px[i + channels - 1];
    for (int c = 0; c + 1 < channels; ++c) px[i + c] = uint8_t(muldiv255(px[i + c], alpha));
  }
}

void unpremultiply(std::vector<uint8_t>& px, int channels) {
  for (size_t i = 0; i < px.size(); i += channels) {
    const int alpha = px[i + channels - 1];
    if (alpha == 0 || alpha == 255) continue;
    for (int c = 0; c + 1 < channels; ++c) px[i + c] = uint8_t(std::min(255, 255 * px[i + c] / alpha));
  }
}

}  // namespace

Image resize_bicubic(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0)
    throw Error("resize: invalid target size " + std::to_string(width) + "x" + std::to_string(height));
  if (image.bit_depth != 8 || image.channels < 1 || image.channels > 4 || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != image.sample_count())
    throw Error("resize: expects a non-empty 8-bit image with 1-4 channels");
  if (width == image.width && height == image.height) return image;

  Image out = image;
  out.width = width;
  out.height = height;
  if (image.is_palette()) {
    out.pixels = resize_nearest(image, width, height);
    return out;
  }
  const int c = image.channels;
  const bool alpha = c == 2 || c == 4;
  if (alpha) premultiply(out.pixels, c);
  // Horizontal pass first; PIL skips the pass along an axis whose size does not change.
  if (width != image.width) out.pixels = resample_horizontal(out.pixels, image.width, image.height, c, width);
  if (height != image.height) out.pixels = resample_vertical(out.pixels, width, image.height, c, height);
  if (alpha) unpremultiply(out.pixels, c);
  return out;
}

}  // namespace medvqa::image
