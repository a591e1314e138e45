#pragma once
#include <cstdint>

namespace medvqa::train {

// Linear warmup from 0 to `peak` over `warmup` steps, then cosine decay to peak·min_ratio at
// `total` steps (and flat after).
double learning_rate(int64_t step, double peak, int64_t warmup, int64_t total, double min_ratio);

}  // namespace medvqa::train
