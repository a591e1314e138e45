#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "image/image.h"

namespace medvqa::infer {

// SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash: without the key, nobody can make two
// inputs that collide, so a client cannot craft an image that the cache takes for another one.
class SipHash24 {
 public:
  SipHash24(uint64_t k0, uint64_t k1);
  void update(const void* data, size_t bytes);
  uint64_t digest() const;

 private:
  void compress(uint64_t m);
  uint64_t v0_, v1_, v2_, v3_;
  uint64_t tail_ = 0;  // bytes not yet in a full 8-byte word, little-endian
  size_t length_ = 0;
};

// The key under which an image's encoding is cached: SipHash-2-4 of its size, depth and samples
// (8- or 16-bit, and the palette) under a key drawn at random once per process.
uint64_t content_hash(const image::Image& image);

// The image prefixes (vision tower + Q-Former + projection, [1,Q,H]) of the most recently used
// images, so that a follow-up question about an image does not encode it again. Bounded: the least
// recently used entry goes when a new one would exceed `capacity`. Not thread-safe (the Answerer
// that holds it is not either).
class ImagePrefixCache {
 public:
  explicit ImagePrefixCache(size_t capacity = 0) : capacity_(capacity) {}
  // index_ holds iterators into entries_: a copy builds its own (the default would point into
  // the original's list).
  ImagePrefixCache(const ImagePrefixCache& other);
  ImagePrefixCache& operator=(ImagePrefixCache other);
  ImagePrefixCache(ImagePrefixCache&&) = default;

  size_t capacity() const { return capacity_; }
  size_t size() const { return index_.size(); }
  // The cached prefix (now the most recently used), or none.
  std::optional<torch::Tensor> find(uint64_t key);
  void insert(uint64_t key, torch::Tensor prefix);

 private:
  size_t capacity_;
  std::list<std::pair<uint64_t, torch::Tensor>> entries_;  // most recently used first
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, torch::Tensor>>::iterator> index_;
};

}  // namespace medvqa::infer
