#include "kernels/cpu_features.h"

#include "kernels/kernel_support.h"  // MEDVQA_X86

namespace medvqa::kernels {

bool fast_bf16_gemm() {
#ifdef MEDVQA_X86
  static const bool yes =
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return yes;
#else
  return false;
#endif
}

bool using_avx512_bf16() {
#ifdef MEDVQA_X86
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512bf16");
  return yes;
#else
  return false;
#endif
}

bool using_avx512_vnni() {
#ifdef MEDVQA_X86
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return yes;
#else
  return false;
#endif
}

bool using_avx2() {
#ifdef MEDVQA_X86
  // F16C is not asked for: clang's builtin does not know it, and every CPU with AVX2 has it.
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

}  // namespace medvqa::kernels
