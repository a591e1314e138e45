#include "kernels/parallel.h"

#include <omp.h>

#include <exception>
#include <mutex>

namespace medvqa::kernels {

void parallel_for_each(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n == 1) return fn(0);  // no thread team for a single item
  std::exception_ptr first;
  std::mutex mutex;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

bool release_parallel_threads() { return omp_pause_resource_all(omp_pause_soft) == 0; }

}  // namespace medvqa::kernels
