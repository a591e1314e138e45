#include "model/threads.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace medvqa::model {

void set_compute_threads(int threads) {
  if (threads <= 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : int(std::thread::hardware_concurrency());
  }
  at::set_num_threads(std::max(1, threads));
}

}  // namespace medvqa::model
