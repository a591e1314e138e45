#include "infer/image_cache.h"

namespace medvqa::infer {

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull, kFnvPrime = 1099511628211ull;

void mix(uint64_t& h, const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * kFnvPrime;
}

}  // namespace

uint64_t content_hash(const image::Image& image) {
  uint64_t h = kFnvOffset;
  const int header[4] = {image.width, image.height, image.channels, image.bit_depth};
  mix(h, header, sizeof header);
  mix(h, image.pixels.data(), image.pixels.size());
  mix(h, image.pixels16.data(), image.pixels16.size() * sizeof(uint16_t));
  mix(h, image.palette.data(), image.palette.size());
  return h;
}

std::optional<torch::Tensor> ImagePrefixCache::find(uint64_t key) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->second;
}

void ImagePrefixCache::insert(uint64_t key, torch::Tensor prefix) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->second = std::move(prefix);
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  entries_.emplace_front(key, std::move(prefix));
  index_[key] = entries_.begin();
  if (index_.size() > capacity_) {
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
}

}  // namespace medvqa::infer
