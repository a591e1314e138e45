#include "kernels/read_bandwidth.h"

#include <chrono>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu_features.h"
#include "kernels/kernel_support.h"  // MEDVQA_X86

namespace medvqa::kernels {
namespace {

// XOR of every 64-bit word: nothing to compute, nothing written, so only the reads cost time.
uint64_t fold_portable(const uint64_t* p, int64_t words) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  int64_t i = 0;
  for (; i + 4 <= words; i += 4) {
    a ^= p[i];
    b ^= p[i + 1];
    c ^= p[i + 2];
    d ^= p[i + 3];
  }
  for (; i < words; ++i) a ^= p[i];
  return a ^ b ^ c ^ d;
}

#ifdef MEDVQA_X86
MEDVQA_TARGET_PUSH("avx2")
uint64_t fold_avx2(const uint64_t* p, int64_t words) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  int64_t i = 0;
  for (; i + 16 <= words; i += 16) {
    a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i*)(p + i)));
    b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i*)(p + i + 4)));
    c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i*)(p + i + 8)));
    d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i*)(p + i + 12)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256((__m256i*)lanes, _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)));
  return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3] ^ fold_portable(p + i, words - i);
}
MEDVQA_TARGET_POP
#endif

uint64_t fold(const uint64_t* p, int64_t words) {
#ifdef MEDVQA_X86
  if (using_avx2()) return fold_avx2(p, words);
#endif
  return fold_portable(p, words);
}

}  // namespace

double streaming_read_rate(const uint8_t* data, int64_t bytes) {
  const int64_t words = bytes / 8;
  const auto* p = reinterpret_cast<const uint64_t*>(data);
  uint64_t sink = 0;
  auto start = std::chrono::steady_clock::now();
  // Contiguous halves per thread, as the decode kernels split their weight rows.
#pragma omp parallel reduction(^ : sink)
  {
#ifdef _OPENMP
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int64_t threads = 1, t = 0;
#endif
    const int64_t first = words * t / threads, last = words * (t + 1) / threads;
    sink ^= fold(p + first, last - first);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The result must be observable or the reads could be dropped.
  [[maybe_unused]] static volatile uint64_t observed;
  observed = sink;
  return double(words * 8) / seconds;
}

}  // namespace medvqa::kernels
