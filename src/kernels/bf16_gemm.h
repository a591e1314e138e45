#pragma once
// A bf16 GEMM for inference on CPUs with AVX512-BF16, on weights repacked once at load time.
// libtorch sends bf16 products to oneDNN, which reorders the whole weight on every call: for the
// layers of a ViT or Q-Former at tens to hundreds of rows that reorder, from weights no longer in
// cache, costs as much as the product. Here the weight is stored in the order the kernel reads it:
// panels of 32 output rows, and in each panel the input features in pairs, so one 64-byte load
// gives the pair of weights that vdpbf16ps multiplies into each of 16 fp32 sums.
#include <cstdint>

namespace medvqa::kernels {

constexpr int64_t kPanelRows = 32;  // output features per panel

// bf16 values in the panels of an [n, k] weight: ceil(n/32) panels of ceil(k/2) pairs of 32 rows.
int64_t bf16_panels_size(int64_t n, int64_t k);
// w: [n, k] bf16 bit patterns (row-major) → panels[((jp·kp + p)·32 + c)·2 + e] = W[32·jp + c, 2p + e],
// zero beyond n and k (kp = ceil(k/2)).
void pack_bf16_panels(const uint16_t* w, int64_t n, int64_t k, uint16_t* panels);
// An int8 weight [n, k] with one scale per row, widened to bf16 panels as torch rounds it:
// bf16(scale[j] · w[j·k + p]). Long inputs meet int8 weights this way, one block of rows per call.
void pack_int8_panels(const int8_t* w, const float* scale, int64_t n, int64_t k, uint16_t* panels);
// Rows [first, first + count) of the weight back as [count, k] (embedding lookups, dequantizing).
void unpack_bf16_panels(const uint16_t* panels, int64_t k, int64_t first, int64_t count, uint16_t* w);

// y[i·ldy + j] = bf16(Σ_p x[i·k + p] · W[j, p] + bias[j]) for i < m, j < n: products summed in fp32,
// rounded once to nearest even (vdpbf16ps treats subnormal inputs and sums as zero, as oneDNN's
// bf16 GEMM on the same instruction does). bias: n bf16 values or null. Split over the OpenMP threads; only
// where using_avx512_bf16().
void bf16_panel_gemm(const uint16_t* x, int64_t m, int64_t k, const uint16_t* panels, int64_t n, const uint16_t* bias,
                     uint16_t* y, int64_t ldy);

}  // namespace medvqa::kernels
