#pragma once
#include <cstdint>
#include <vector>

#include "data/example.h"

namespace medvqa::data {

struct TrainValSplit {
  std::vector<VqaExample> train;
  std::vector<VqaExample> val;
};

// Carves a validation slice out of a split that has none (VQA-RAD), by image: an image and all
// its questions go to val when a hash of (seed, image file name) falls below `val_fraction`.
// The decision depends on the image name alone, so it is the same on every machine and does not
// move when other rows are added or filtered out; the slice holds about val_fraction of the
// images. Order within each side is the input order.
TrainValSplit split_by_image(const std::vector<VqaExample>& examples, double val_fraction, uint64_t seed = 0);

}  // namespace medvqa::data
