#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace medvqa::train {

// Mixes two 64-bit values into a seed (splitmix64's finalizer over a combination of both), so that
// (seed, epoch, position) name independent generator streams.
uint64_t mix_seed(uint64_t a, uint64_t b);

// The order of `size` items in each epoch: a permutation seeded by (seed, epoch) alone, so any
// step of a run, resumed or not, finds the same item at the same position.
class EpochOrder {
 public:
  EpochOrder(std::size_t size, uint64_t seed) : size_(size), seed_(seed) {}
  const std::vector<int64_t>& of(int64_t epoch);

 private:
  std::size_t size_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace medvqa::train
