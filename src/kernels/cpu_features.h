#pragma once
// What this CPU can run, read once from cpuid: the kernels choose their code paths by it, and the
// compute dtype follows it (bf16 only where bf16 products are fast).

namespace medvqa::kernels {

// AVX2 with FMA (and so F16C, which every AVX2 CPU has): the row kernels' and elementwise
// kernels' fast paths (else portable loops).
bool using_avx2();
// AVX512 VNNI (with F, BW and VL): the 4-bit row kernel's byte dot products.
bool using_avx512_vnni();
// AVX512-BF16 (with F and BW): the panel GEMM and the bf16 dot-product kernels.
bool using_avx512_bf16();
// Whether libtorch's bf16 matmul is fast here: it goes to oneDNN on CPUs with AVX512 BW/VL/DQ
// (libtorch 1.13's rule); elsewhere its fallback runs at a few GFLOP/s.
bool fast_bf16_gemm();

}  // namespace medvqa::kernels
