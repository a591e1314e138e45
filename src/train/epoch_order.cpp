#include "train/epoch_order.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace medvqa::train {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

const std::vector<int64_t>& EpochOrder::of(int64_t epoch) {
  if (epoch != epoch_) {
    order_.resize(size_);
    std::iota(order_.begin(), order_.end(), 0);
    std::mt19937_64 shuffle(mix_seed(seed_, uint64_t(epoch)));
    std::shuffle(order_.begin(), order_.end(), shuffle);
    epoch_ = epoch;
  }
  return order_;
}

}  // namespace medvqa::train
