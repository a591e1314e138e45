#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "kernels/linear_kernel.h"

namespace medvqa::model {

// How the language model's weight matrices are stored for CPU inference. Arithmetic stays fp32
// in every format: batch-1 decoding is bound by the bytes of weights read per token, so storing
// them narrower is what makes it faster, and fp32 accumulation keeps the results close.
enum class WeightFormat {
  kFloat32,   // the parameters as loaded
  kBFloat16,  // bf16 (round to nearest even): half the bytes
  kInt8,      // int8 with one fp32 scale per output row (symmetric, absmax/127): a quarter
  kInt4,      // 4 bits in groups of 32 inputs with an fp16 scale each (llama.cpp's Q4_0): 0.14
};

WeightFormat parse_weight_format(const std::string& name);  // "float32"/"fp32", "bfloat16"/"bf16", "int8", "int4"
std::string weight_format_name(WeightFormat format);
// The storage that goes with a compute dtype (`--weights auto`): on the CPU, bf16 compute keeps
// bf16 weights packed for the decode kernels (libtorch's own bf16 matrix-vector product reads them
// at a fraction of the memory bandwidth); otherwise the parameters stay as loaded.
WeightFormat weight_format_for(torch::Dtype compute_dtype, torch::Device device);

// A [out, in] weight matrix in a narrow format, with the products inference needs. Which kernel
// computes a product is kernels::choose_linear_kernel's table (kernels/linear_kernel.h, with the
// measurements behind each threshold).
//
// A bf16 weight of a bf16 model, on a CPU with AVX512-BF16, is stored as the panels of
// kernels::bf16_panel_gemm (bf16_gemm.h), and every bf16 input, one row or thousands, multiplies
// through that kernel (with its bias if that is n bf16 values); bench/README.md has what that
// layout measured against oneDNN and the row kernels.
//
// Otherwise (fp32 models stored in bf16, int8, CPUs without AVX512-BF16) the weight is stored as
// [out, in] rows: a few input rows go through kernels that widen each weight once and reuse it for
// every row, longer inputs through GEMM on the weight as stored or on blocks of widened rows.
class PackedWeight {
 public:

  // `weight`: [out, in], any floating dtype, on the CPU.
  PackedWeight(const torch::Tensor& weight, WeightFormat format);

  // x [..., in] (any floating dtype) → x Wᵀ + bias [..., out] in x's dtype.
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& bias = {}) const;
  // Rows of W as fp32 [ids..., in]: the embedding lookup when W is a tied embedding table.
  torch::Tensor rows(const torch::Tensor& ids) const;
  // W as fp32 [out, in].
  torch::Tensor dequantize() const;

  WeightFormat format() const { return format_; }
  kernels::WeightStorage storage() const;
  // The kernel that computes linear(x, bias).
  kernels::LinearKernel kernel_for(const torch::Tensor& x, const torch::Tensor& bias = {}) const;
  // Up to how many rows of this dtype the row kernels take (kernels::packed_rows_limit).
  int64_t kernel_rows_limit(torch::Dtype input_dtype = torch::kFloat32) const;
  int64_t out_features() const { return out_features_; }
  int64_t in_features() const { return in_features_; }
  bool panels() const { return panels_; }
  // Bytes a product reads: the stored matrix and its scales.
  int64_t nbytes() const;

 private:
  torch::Tensor widen(int64_t first_row, int64_t count, torch::Dtype dtype) const;
  int64_t checked_row(int64_t id) const;  // id, or an Error naming it if W has no such row
  // The long-input products (x [m, in] contiguous; bf16 for the panel blocks).
  torch::Tensor int8_panel_blocks(const torch::Tensor& x) const;
  torch::Tensor widened_blocks(const torch::Tensor& x) const;

  WeightFormat format_;
  int64_t out_features_, in_features_;
  bool panels_ = false;
  torch::Tensor data_;   // [out, in] bf16 or int8, bf16 panels (flat), or [out, int4_bytes(1, in)] 4-bit
  torch::Tensor scale_;  // [out] fp32 (int8), [out, int4_scales(1, in)] fp16 bits (int4)
};

// x [..., k] bf16 times the contiguous bf16 matrix w [n, k] → [..., n] fp32, by bf16_dot_rows
// (where the kernel table chooses it).
torch::Tensor bf16_dot_product(const torch::Tensor& x, const torch::Tensor& w);

// Whether a bf16 weight of a model computing in `dtype` on `device` is stored as bf16 panels when
// packed (see PackedWeight): bf16 compute on a CPU with AVX512-BF16.
bool bf16_panels_for(torch::Dtype dtype, torch::Device device);

// Packs a parameter and releases its fp32 memory (the tensor stays registered, empty): storage for
// inference only.
std::shared_ptr<const PackedWeight> pack_and_release(torch::Tensor& weight, WeightFormat format);

}  // namespace medvqa::model
