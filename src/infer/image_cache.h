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

// 64-bit FNV-1a over an image's size, depth and samples (8- or 16-bit, and the palette): the key
// under which its encoding is cached. Two different images share a key with probability ~2⁻⁶⁴.
uint64_t content_hash(const image::Image& image);

// The image prefixes (vision tower + Q-Former + projection, [1,Q,H]) of the most recently used
// images, so that a follow-up question about an image does not encode it again. Bounded: the least
// recently used entry goes when a new one would exceed `capacity`. Not thread-safe (the Answerer
// that holds it is not either).
class ImagePrefixCache {
 public:
  explicit ImagePrefixCache(size_t capacity = 0) : capacity_(capacity) {}

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
