#pragma once
#include <cstdint>
#include <functional>

namespace medvqa {

// Runs fn(i) for every i in [0, n) on the OpenMP threads (libtorch's intra-op pool), one item at
// a time per thread: for loops over independent items, such as a batch's images. at::parallel_for
// would run them serially in our files, which are compiled without OpenMP to share the
// precompiled libtorch header. The first exception thrown by fn is rethrown once all have run.
void parallel_for_each(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace medvqa
