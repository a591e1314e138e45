#include "image/resize.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MEDVQA_RESIZE_AVX2 1  // the AVX2 row kernel can be compiled (whether it runs is using_avx2())
#endif

#include "io/error.h"
#include "kernels/cpu_features.h"

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

// Output row r = the fixed-point sum over the kernel's taps of input rows first[r] + t, for rows
// of `width` samples; the vertical pass, and the horizontal one on the transposed image.
void resample_rows_portable(const uint8_t* in, size_t width, const Kernel& k, int out_rows, uint8_t* out) {
  std::vector<int32_t> acc(width);
  for (int r = 0; r < out_rows; ++r) {
    const int32_t* wt = k.weights.data() + size_t(r) * k.taps;
    const uint8_t* src = in + size_t(k.first[r]) * width;
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int t = 0; t < k.count[r]; ++t) {
      const uint8_t* line = src + size_t(t) * width;
      for (size_t i = 0; i < width; ++i) acc[i] += line[i] * wt[t];
    }
    for (size_t i = 0; i < width; ++i) out[size_t(r) * width + i] = clip8(acc[i]);
  }
}

#ifdef MEDVQA_RESIZE_AVX2
// Eight samples at a time, their sums kept in a register over the taps. The same integer sums as
// the portable loop, so the same bytes.
__attribute__((target("avx2"))) void resample_rows_avx2(const uint8_t* in, size_t width, const Kernel& k, int out_rows,
                                                        uint8_t* out) {
  const size_t body = width / 8 * 8;
  for (int r = 0; r < out_rows; ++r) {
    const int32_t* wt = k.weights.data() + size_t(r) * k.taps;
    const uint8_t* src = in + size_t(k.first[r]) * width;
    uint8_t* dst = out + size_t(r) * width;
    for (size_t i = 0; i < body; i += 8) {
      __m256i acc = _mm256_set1_epi32(1 << (kPrecisionBits - 1));
      for (int t = 0; t < k.count[r]; ++t) {
        const __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + size_t(t) * width + i)));
        acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(px, _mm256_set1_epi32(wt[t])));
      }
      // clip8: v >> 22 clamped to [0, 255] is 0 for v <= 0 and 255 from 1 << 30.
      const __m256i v = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc, kPrecisionBits), _mm256_setzero_si256()),
                                         _mm256_set1_epi32(255));
      const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(words, words));
    }
    for (size_t i = body; i < width; ++i) {
      int32_t acc = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < k.count[r]; ++t) acc += src[size_t(t) * width + i] * wt[t];
      dst[i] = clip8(acc);
    }
  }
}
#endif

void resample_rows(const uint8_t* in, size_t width, const Kernel& k, int out_rows, uint8_t* out, bool portable) {
#ifdef MEDVQA_RESIZE_AVX2
  if (!portable) return resample_rows_avx2(in, width, k, out_rows, out);
#endif
  resample_rows_portable(in, width, k, out_rows, out);
}

// Rows [first, first + rows) of a w-pixel-wide image (C samples per pixel) as a w x rows image of
// their columns, and back.
template <int C>
void columns_of(const uint8_t* in, int w, int first, int rows, uint8_t* out) {
  for (int y = 0; y < rows; ++y) {
    const uint8_t* row = in + size_t(first + y) * w * C;
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < C; ++c) out[(size_t(x) * rows + y) * C + c] = row[size_t(x) * C + c];
  }
}

template <int C>
void rows_from_columns(const uint8_t* columns, int w, int first, int rows, uint8_t* out) {
  for (int y = 0; y < rows; ++y) {
    uint8_t* row = out + size_t(first + y) * w * C;
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < C; ++c) row[size_t(x) * C + c] = columns[(size_t(x) * rows + y) * C + c];
  }
}

// The horizontal pass as a vertical pass over transposed strips of 16 rows, where each tap is a
// contiguous run of 16 pixels and a strip stays in cache however wide the image.
template <int C>
std::vector<uint8_t> resample_horizontal_strips(const std::vector<uint8_t>& in, int in_w, int h, int out_w,
                                                bool portable) {
  constexpr int kStrip = 16;
  const Kernel k = make_kernel(in_w, out_w);
  std::vector<uint8_t> out(size_t(out_w) * h * C), columns(size_t(in_w) * kStrip * C), resampled(size_t(out_w) * kStrip * C);
  for (int first = 0; first < h; first += kStrip) {
    const int rows = std::min(kStrip, h - first);
    columns_of<C>(in.data(), in_w, first, rows, columns.data());
    resample_rows(columns.data(), size_t(rows) * C, k, out_w, resampled.data(), portable);
    rows_from_columns<C>(resampled.data(), out_w, first, rows, out.data());
  }
  return out;
}

// The two separable passes; every channel uses the same weights.
std::vector<uint8_t> resample_horizontal(const std::vector<uint8_t>& in, int in_w, int h, int channels, int out_w,
                                         bool portable) {
  switch (channels) {
    case 1: return resample_horizontal_strips<1>(in, in_w, h, out_w, portable);
    case 2: return resample_horizontal_strips<2>(in, in_w, h, out_w, portable);
    case 3: return resample_horizontal_strips<3>(in, in_w, h, out_w, portable);
    default: return resample_horizontal_strips<4>(in, in_w, h, out_w, portable);
  }
}

std::vector<uint8_t> resample_vertical(const std::vector<uint8_t>& in, int w, int in_h, int channels, int out_h,
                                       bool portable) {
  const size_t width = size_t(w) * channels;
  std::vector<uint8_t> out(width * out_h);
  resample_rows(in.data(), width, make_kernel(in_h, out_h), out_h, out.data(), portable);
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

Image resize(const Image& image, int width, int height, bool portable) {
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
  if (width != image.width) out.pixels = resample_horizontal(out.pixels, image.width, image.height, c, width, portable);
  if (height != image.height) out.pixels = resample_vertical(out.pixels, width, image.height, c, height, portable);
  if (alpha) unpremultiply(out.pixels, c);
  return out;
}

}  // namespace

Image resize_bicubic(const Image& image, int width, int height) { return resize(image, width, height, !kernels::using_avx2()); }

Image resize_bicubic_portable(const Image& image, int width, int height) { return resize(image, width, height, true); }

}  // namespace medvqa::image
