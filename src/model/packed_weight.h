#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

namespace medvqa::model {

// How the language model's weight matrices are stored for CPU inference. Arithmetic stays fp32
// in every format: batch-1 decoding is bound by the bytes of weights read per token, so storing
// them narrower is what makes it faster, and fp32 accumulation keeps the results close.
enum class WeightFormat {
  kFloat32,   // the parameters as loaded
  kBFloat16,  // bf16 (round to nearest even): half the bytes
  kInt8,      // int8 with one fp32 scale per output row (symmetric, absmax/127): a quarter
};

WeightFormat parse_weight_format(const std::string& name);  // "float32"/"fp32", "bfloat16"/"bf16", "int8"
std::string weight_format_name(WeightFormat format);
// The storage that goes with a compute dtype (`--weights auto`): on the CPU, bf16 compute keeps
// bf16 weights packed for the decode kernels (libtorch's own bf16 matrix-vector product reads them
// at a fraction of the memory bandwidth); otherwise the parameters stay as loaded.
WeightFormat weight_format_for(torch::Dtype compute_dtype, torch::Device device);

// A [out, in] weight matrix in a narrow format, with the products inference needs.
//
// A bf16 weight of a bf16 model, on a CPU with AVX512-BF16, is stored as the panels of
// kernels::bf16_panel_gemm (bf16_gemm.h), and every bf16 input, one row or thousands, multiplies
// through that kernel (with its bias if that is n bf16 values). Measured (2 threads, weights in cache) against oneDNN's bf16 GEMM: 3x at 16
// rows, 1.6-1.9x at 50-128, 1.05-1.15x from 256; in the models, where oneDNN also reorders weights
// that come from memory, ViT-B/16 at batch 1 went from 0.84 to 0.91 of the bf16 GEMM rate, the
// Q-Former from 0.58 to 0.71-0.80, BLOOM prefill 1.05-1.15x. At one row (decoding) it streams the
// 250880 x 1024 tied embedding at 92-97% of the AVX2 kernel's rate and runs 2x it in cache; 2-16
// rows 1.3-1.8x the AVX512-BF16 dot kernel.
//
// Otherwise (fp32 models stored in bf16, int8, CPUs without AVX512-BF16) the weight is stored as
// [out, in] rows. Inputs of up to kernel_rows_limit() rows
// (decoding, batched serving, short prompts) go through kernels that widen each weight once and
// reuse it for every row (AVX2+FMA where the CPU has it), and bf16 inputs of 2..kBf16DotRows rows
// with bf16 weights through AVX512-BF16 dot products; longer inputs go through GEMM: bf16 inputs
// in bf16 (oneDNN) where this CPU's bf16 GEMM is fast, with bf16 weights used as stored, else
// fp32 BLAS on blocks of widened rows (which is also how fp32 inputs, rare with a bf16 model, meet
// panels: correct, but each call unpacks the whole weight). On AVX512-BF16 CPUs long bf16 inputs
// meet int8 weights widened block by block into panels for the panel GEMM: 1.06-1.32x widening
// them to rows for oneDNN (32-128 rows, 1024-8192 wide layers).
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
  // Where the kernels stop beating GEMM for inputs of this dtype. fp32 BLAS on widened blocks
  // (measured on AVX2 with 2048 x 8192 weights): int8's vpmaddwd kernel ~100 GFLOP/s at 16-128
  // rows, the blocks 60 at 32 rows, 86 at 64, 92 at 128 (at bloom-560m's 1024-wide layers a
  // 128-token int8 prefill ran at 66 GFLOP/s in the kernels vs 102 in blocks); the bf16 kernel
  // ~60 GFLOP/s, equal to the blocks at 32 rows and behind from 64. bf16 inputs where oneDNN's
  // bf16 GEMM is fast (AVX512, 1024-4096 wide layers, 2 threads): bf16 weights 82-85 GFLOP/s in
  // the kernel vs 42-44 in oneDNN at 1 row, even at 2, behind from 4 (97 vs 148); int8 139 vs
  // 134-139 widened to bf16 at 16 rows, behind from 32 (137 vs 188).
  // (0 for panels: their products are the panel kernel's or GEMM's.)
  int64_t kernel_rows_limit(torch::Dtype input_dtype = torch::kFloat32) const;
  int64_t out_features() const { return out_features_; }
  int64_t in_features() const { return in_features_; }
  bool panels() const { return panels_; }
  // Bytes a product reads: the stored matrix and its scales.
  int64_t nbytes() const;

 private:
  torch::Tensor widen(int64_t first_row, int64_t count, torch::Dtype dtype) const;
  // The dtype long inputs are multiplied in, and that product (x [m, in] contiguous in it).
  static torch::Dtype gemm_dtype(torch::Dtype input_dtype);
  torch::Tensor gemm(const torch::Tensor& x) const;

  WeightFormat format_;
  int64_t out_features_, in_features_;
  bool panels_ = false;
  torch::Tensor data_;   // [out, in] bf16 or int8, or bf16 panels (flat)
  torch::Tensor scale_;  // [out] fp32 (int8 only)
};

// Products of up to kBf16DotRows bf16 rows with a bf16 weight take kernels::bf16_dot_rows where
// the CPU has AVX512-BF16: measured against oneDNN's bf16 GEMM (2 threads, 192-3072 wide layers)
// 2-4x faster at 1-4 rows, 1.2-2x at 8, even to 1.4x at 16, behind from 32-64 on most shapes
// (and libtorch's bf16 matrix-vector product loses ~3% to bf16 accumulation). Against the AVX2
// kernel on a weight streamed from memory (1024 x 262144): 24 vs 17 GB/s at 2 rows, but 24 vs 32
// at one, so a packed weight's single row (decoding) stays with the AVX2 kernel.
constexpr int64_t kBf16DotRows = 16;
// Whether x (bf16 [..., k], m rows) times a contiguous bf16 [n, k] weight goes through bf16_dot_rows.
bool bf16_dot_applies(const torch::Tensor& x, const torch::Tensor& weight);
// x [..., k] bf16 times the contiguous bf16 matrix w [n, k] → [..., n] fp32, by bf16_dot_rows
// (where bf16_dot_applies).
torch::Tensor bf16_dot_product(const torch::Tensor& x, const torch::Tensor& w);

// Whether a bf16 weight of a model computing in `dtype` on `device` is stored as bf16 panels when
// packed (see PackedWeight): bf16 compute on a CPU with AVX512-BF16.
bool bf16_panels_for(torch::Dtype dtype, torch::Device device);

// Packs a parameter and releases its fp32 memory (the tensor stays registered, empty): storage for
// inference only.
std::shared_ptr<const PackedWeight> pack_and_release(torch::Tensor& weight, WeightFormat format);

}  // namespace medvqa::model
