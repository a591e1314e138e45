#include "data/split.h"

#include <filesystem>
#include <string>

#include "io/fnv1a.h"

namespace medvqa::data {
namespace {

// FNV-1a, then a splitmix64 finalizer so that nearby names and seeds spread over the whole range.
uint64_t image_hash(const std::string& name, uint64_t seed) {
  uint64_t h = io::fnv1a(name, io::kFnv1aOffset ^ seed);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

TrainValSplit split_by_image(const std::vector<VqaExample>& examples, double val_fraction, uint64_t seed) {
  TrainValSplit out;
  for (const VqaExample& ex : examples) {
    // The file name, not the path: the slice must not change with where the data is unpacked.
    const std::string name = std::filesystem::path(ex.image_path).filename().string();
    const double u = double(image_hash(name, seed) >> 11) * 0x1.0p-53;  // uniform in [0, 1)
    (u < val_fraction ? out.val : out.train).push_back(ex);
  }
  return out;
}

}  // namespace medvqa::data
