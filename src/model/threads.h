#pragma once

namespace medvqa::model {

// Sets libtorch's intra-op threads: `threads` when positive; else OMP_NUM_THREADS when the
// environment sets it (torchrun and `train --nproc` do, per worker); else every core this
// process may run on. libtorch's own default is the physical core count cpuinfo reports, which
// on some virtual machines is 1 of their 2 cores (measured here: every command ran on one thread).
void set_compute_threads(int threads);

}  // namespace medvqa::model
