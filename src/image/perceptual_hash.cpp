#include "image/perceptual_hash.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "io/error.h"

namespace medvqa::image {
namespace {

constexpr int kSide = 32;   // the gray thumbnail the DCT runs on
constexpr int kBand = 8;    // low frequencies kept per axis

// Box average of the gray image over a kSide × kSide grid of source rectangles: every source pixel
// counts once whatever the size, so downscaled copies land on nearly the same thumbnail.
std::array<double, kSide * kSide> gray_thumbnail(const Image& rgb) {
  std::array<double, kSide * kSide> cells{};
  std::array<double, kSide * kSide> weight{};
  for (int y = 0; y < rgb.height; ++y) {
    const int cy = int(int64_t(y) * kSide / rgb.height);
    const uint8_t* row = rgb.pixels.data() + size_t(y) * size_t(rgb.width) * 3;
    for (int x = 0; x < rgb.width; ++x) {
      const int cx = int(int64_t(x) * kSide / rgb.width);
      const uint8_t* p = row + size_t(x) * 3;
      cells[size_t(cy) * kSide + size_t(cx)] += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
      weight[size_t(cy) * kSide + size_t(cx)] += 1;
    }
  }
  // An image smaller than the grid leaves cells empty: they take their left or upper neighbour.
  for (int i = 0; i < kSide * kSide; ++i) {
    if (weight[size_t(i)] > 0) cells[size_t(i)] /= weight[size_t(i)];
    else cells[size_t(i)] = i % kSide ? cells[size_t(i) - 1] : cells[size_t(i) - kSide];
  }
  return cells;
}

}  // namespace

uint64_t perceptual_hash(const Image& image) {
  if (image.width <= 0 || image.height <= 0) throw Error("perceptual_hash: empty image");
  const auto cells = gray_thumbnail(to_rgb(image));
  // DCT-II basis for the kept frequencies: basis[u][x] = cos((2x + 1) u π / 2N).
  std::array<std::array<double, kSide>, kBand> basis{};
  for (int u = 0; u < kBand; ++u)
    for (int x = 0; x < kSide; ++x) basis[size_t(u)][size_t(x)] = std::cos((2 * x + 1) * u * M_PI / (2 * kSide));
  std::array<double, kBand * kBand> coefficients{};
  for (int v = 0; v < kBand; ++v) {
    for (int u = 0; u < kBand; ++u) {
      double sum = 0;
      for (int y = 0; y < kSide; ++y) {
        double row = 0;
        for (int x = 0; x < kSide; ++x) row += cells[size_t(y) * kSide + size_t(x)] * basis[size_t(u)][size_t(x)];
        sum += row * basis[size_t(v)][size_t(y)];
      }
      coefficients[size_t(v) * kBand + size_t(u)] = sum;
    }
  }
  std::array<double, kBand * kBand - 1> ac;
  std::copy(coefficients.begin() + 1, coefficients.end(), ac.begin());
  std::nth_element(ac.begin(), ac.begin() + ac.size() / 2, ac.end());
  const double median = ac[ac.size() / 2];
  uint64_t hash = 0;
  for (size_t i = 0; i < coefficients.size(); ++i)
    if (coefficients[i] > median) hash |= uint64_t(1) << i;
  return hash;
}

int hash_distance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

}  // namespace medvqa::image
