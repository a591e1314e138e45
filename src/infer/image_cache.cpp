#include "infer/image_cache.h"

#include <random>

namespace medvqa::infer {

namespace {

uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

void sip_round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
  v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
}

}  // namespace

SipHash24::SipHash24(uint64_t k0, uint64_t k1)
    : v0_(k0 ^ 0x736f6d6570736575ull),
      v1_(k1 ^ 0x646f72616e646f6dull),
      v2_(k0 ^ 0x6c7967656e657261ull),
      v3_(k1 ^ 0x7465646279746573ull) {}

void SipHash24::compress(uint64_t m) {
  v3_ ^= m;
  sip_round(v0_, v1_, v2_, v3_);
  sip_round(v0_, v1_, v2_, v3_);
  v0_ ^= m;
}

void SipHash24::update(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < bytes;) {
    if (length_ % 8 == 0 && bytes - i >= 8) {  // whole words straight from the input
      uint64_t m = 0;
      for (int b = 0; b < 8; ++b) m |= uint64_t(p[i + size_t(b)]) << (8 * b);
      compress(m);
      i += 8;
      length_ += 8;
      continue;
    }
    tail_ |= uint64_t(p[i++]) << (8 * (length_ % 8));
    if (++length_ % 8 == 0) {
      compress(tail_);
      tail_ = 0;
    }
  }
}

uint64_t SipHash24::digest() const {
  uint64_t v0 = v0_, v1 = v1_, v2 = v2_, v3 = v3_;
  const uint64_t b = (uint64_t(length_) << 56) | tail_;
  v3 ^= b;
  sip_round(v0, v1, v2, v3);
  sip_round(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int r = 0; r < 4; ++r) sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t content_hash(const image::Image& image) {
  static const std::pair<uint64_t, uint64_t> key = [] {
    std::random_device device;
    auto word = [&] { return (uint64_t(device()) << 32) ^ uint64_t(device()); };
    return std::make_pair(word(), word());
  }();
  SipHash24 h(key.first, key.second);
  const int header[4] = {image.width, image.height, image.channels, image.bit_depth};
  h.update(header, sizeof header);
  h.update(image.pixels.data(), image.pixels.size());
  h.update(image.pixels16.data(), image.pixels16.size() * sizeof(uint16_t));
  h.update(image.palette.data(), image.palette.size());
  return h.digest();
}

ImagePrefixCache::ImagePrefixCache(const ImagePrefixCache& other)
    : capacity_(other.capacity_), entries_(other.entries_) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) index_[it->first] = it;
}

ImagePrefixCache& ImagePrefixCache::operator=(ImagePrefixCache other) {
  // std::list::swap keeps iterators valid and pointing into the swapped-in list.
  std::swap(capacity_, other.capacity_);
  entries_.swap(other.entries_);
  index_.swap(other.index_);
  return *this;
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
