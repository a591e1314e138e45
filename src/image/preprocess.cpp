#include "image/preprocess.h"

#include <torch/torch.h>

#include <algorithm>

#include "image/resize.h"
#include "io/error.h"
#include "kernels/parallel.h"

namespace medvqa::image {

Image resize_shortest_side(const Image& image, int size) {
  if (size <= 0 || image.width <= 0 || image.height <= 0)
    throw Error("resize: cannot resize " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " to shortest side " + std::to_string(size));
  const int w = image.width, h = image.height;
  const int short_side = std::min(w, h), long_side = std::max(w, h);
  if (short_side == size) return image;
  // Python's int(size * long / short): exact integer product, correctly rounded true division.
  const int new_long = int(double(int64_t(size) * long_side) / short_side);
  return w <= h ? resize_bicubic(image, size, new_long) : resize_bicubic(image, new_long, size);
}

namespace {
// int(round(diff / 2.0)) for diff >= 0, Python rounding halves to even.
int half_to_even(int diff) {
  int half = diff / 2;
  if (diff % 2 == 1 && half % 2 == 1) ++half;
  return half;
}
}  // namespace

Image center_crop(const Image& image, int size) {
  const size_t samples = image.bit_depth == 16 ? image.pixels16.size() : image.pixels.size();
  if (samples != image.sample_count()) throw Error("center_crop: pixel buffer does not match the image size");
  if (size <= 0 || image.width < size || image.height < size)
    throw Error("center_crop: cannot crop " + std::to_string(size) + "x" + std::to_string(size) + " from " +
                std::to_string(image.width) + "x" + std::to_string(image.height));
  const int top = half_to_even(image.height - size), left = half_to_even(image.width - size);
  Image out;
  out.width = out.height = size;
  out.channels = image.channels;
  out.bit_depth = image.bit_depth;
  out.palette = image.palette;
  const size_t c = size_t(image.channels);
  const auto copy_rows = [&](const auto& src, auto& dst) {
    dst.resize(size_t(size) * size * c);
    for (int y = 0; y < size; ++y)
      std::copy_n(src.begin() + (size_t(top + y) * image.width + left) * c, size * c,
                  dst.begin() + size_t(y) * size * c);
  };
  if (image.bit_depth == 16) {
    copy_rows(image.pixels16, out.pixels16);
  } else {
    copy_rows(image.pixels, out.pixels);
  }
  return out;
}

torch::Tensor normalize(const Image& rgb, const PreprocessConfig& config) {
  if (rgb.bit_depth != 8 || rgb.channels != 3 || rgb.is_palette() || rgb.pixels.size() != rgb.sample_count())
    throw Error("normalize: expects an 8-bit RGB image");
  // The same float32 operations, in the same order, as torchvision's ToTensor and Normalize, so
  // the result is bit-identical.
  auto hwc = torch::from_blob(const_cast<uint8_t*>(rgb.pixels.data()), {rgb.height, rgb.width, 3}, torch::kUInt8);
  auto x = hwc.permute({2, 0, 1}).to(torch::kFloat32).div_(255);
  auto mean = torch::tensor(std::vector<float>(config.mean.begin(), config.mean.end())).view({3, 1, 1});
  auto std = torch::tensor(std::vector<float>(config.std.begin(), config.std.end())).view({3, 1, 1});
  return x.sub_(mean).div_(std).contiguous();
}

torch::Tensor preprocess(const Image& image, const PreprocessConfig& config) {
  // Resized and cropped in its own mode before the RGB conversion, in open_clip's order: palette
  // and alpha images resize differently from their RGB conversion.
  const Image resized = resize_shortest_side(to_8bit(image), config.image_size);
  return normalize(to_rgb(center_crop(resized, config.image_size)), config);
}

torch::Tensor preprocess_batch(const std::vector<Image>& images, const PreprocessConfig& config) {
  if (images.empty()) throw Error("preprocess_batch: no images");
  // One image per thread: a served batch's resizes would otherwise hold up the model on one core.
  std::vector<torch::Tensor> items(images.size());
  kernels::parallel_for_each(int64_t(images.size()), [&](int64_t i) { items[size_t(i)] = preprocess(images[size_t(i)], config); });
  return torch::stack(items);
}

}  // namespace medvqa::image
