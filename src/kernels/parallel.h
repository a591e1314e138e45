#pragma once
#include <cstdint>
#include <functional>

namespace medvqa::kernels {

// Runs fn(i) for every i in [0, n) on the OpenMP threads (libtorch's intra-op pool), one item at
// a time per thread: for loops over independent items, such as a batch's images. at::parallel_for
// would run them serially in our files, which are compiled without OpenMP to share the
// precompiled libtorch header. The first exception thrown by fn is rethrown once all have run.
void parallel_for_each(int64_t n, const std::function<void(int64_t)>& fn);

// Ends the OpenMP worker threads the calling thread started (libtorch's and ours), for a thread
// that hands its compute to another one. Once libgomp manages more threads than there are CPUs
// it spins only ~100 iterations at a barrier before sleeping, so every parallel region of the
// thread doing the work pays futex wake-ups: with the loading thread's idle team alive, the
// server's batcher answered a batch of 8 in 44 ms instead of 26. The next parallel region on
// the calling thread starts a new team. This is libgomp's omp_pause_resource_all (OpenMP 5.0;
// other runtimes pause process-wide instead). False where the runtime refused (inside a
// parallel region): nothing is lost but the speed.
bool release_parallel_threads();

}  // namespace medvqa::kernels
