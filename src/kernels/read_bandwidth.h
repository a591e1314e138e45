#pragma once
#include <cstdint>

namespace medvqa::kernels {

// Bytes per second of one streaming read of `bytes` bytes (already written) over the OpenMP
// threads (XOR of every word, AVX2 where the CPU has it): the peak that bandwidth-bound kernels (batch-1 decoding) are measured against.
double streaming_read_rate(const uint8_t* data, int64_t bytes);

}  // namespace medvqa::kernels
