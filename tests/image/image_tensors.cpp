#include "image_tensors.h"

#include <torch/torch.h>

#include <stdexcept>

namespace medvqa::image::testing {

torch::Tensor to_tensor(const Image& image) {
  std::vector<int64_t> shape = {image.height, image.width};
  if (image.channels > 1) shape.push_back(image.channels);
  if (image.bit_depth == 16)
    return torch::tensor(std::vector<int32_t>(image.pixels16.begin(), image.pixels16.end())).view(shape);
  return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()), shape, torch::kUInt8).clone();
}

Image with_pixels(const Image& like, const torch::Tensor& pixels) {
  if (pixels.sizes() != to_tensor(like).sizes()) throw std::runtime_error("with_pixels: shape mismatch");
  Image out = like;
  auto flat = pixels.contiguous().flatten();
  if (like.bit_depth == 16) {
    auto v = flat.to(torch::kInt32);
    const int32_t* src = v.data_ptr<int32_t>();
    for (int64_t i = 0; i < v.numel(); ++i) out.pixels16[i] = uint16_t(src[i]);
  } else {
    auto v = flat.to(torch::kUInt8);
    std::copy_n(v.data_ptr<uint8_t>(), v.numel(), out.pixels.begin());
  }
  return out;
}

}  // namespace medvqa::image::testing
