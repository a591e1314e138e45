#pragma once
// Which code computes a linear layer's product x Wᵀ (+ bias): every choice and threshold in one
// table, so that a change of threshold is one edit and one test (tests/kernels/linear_kernel_test).
// The model's linear layers (model/linear.cpp, model/packed_weight.cpp) describe each call and run
// what choose_linear_kernel returns; `medvqa bench --kernels` prints the table for this CPU.
#include <cstdint>
#include <string>

namespace medvqa::kernels {

enum class LinearKernel {
  kPanelGemm,        // bf16_panel_gemm on a weight stored as bf16 panels (AVX512-BF16)
  kBf16Dot,          // bf16_dot_rows: a few bf16 rows times bf16 rows of W (AVX512-BF16)
  kF32Rows,          // f32_rows: a few fp32 rows, each fp32 weight read once for all of them
  kBf16Rows,         // bf16_rows: rows in fp32 times bf16 weights widened once
  kInt8Rows,         // int8_rows: rows in fp32 times int8 weights and their row scales
  kInt4Rows,         // int4_rows: rows in fp32 times 4-bit weights in groups of 32 (int4_kernels.h)
  kMatrixVector,     // libtorch's matrix-vector product: one row, input and weight of one dtype
  kOneDnnBf16,       // libtorch's bf16 GEMM (oneDNN) on bf16 rows of W
  kInt8PanelBlocks,  // int8 W widened block by block into bf16 panels for bf16_panel_gemm
  kWidenedBlocks,    // W widened block by block to the GEMM dtype, then libtorch's GEMM
  kTorchLinear,      // libtorch's linear: autograd, autocast, GPUs, mixed dtypes, longer inputs
};
const char* linear_kernel_name(LinearKernel kernel);

enum class ValueType { kFloat32, kBFloat16, kOther };
// How W is held: a plain parameter tensor, or PackedWeight's inference storage.
enum class WeightStorage { kParameter, kPackedBf16Rows, kPackedBf16Panels, kPackedInt8, kPackedInt4 };
enum class BiasKind {
  kNone,
  kBf16Vector,  // exactly n bf16 values on the CPU (what the panel kernel adds itself)
  kBf16,        // bf16 of another shape
  kOther,
};

struct LinearCall {
  int64_t rows = 0;  // m: the input's rows (the product of all but its last dimension)
  ValueType input = ValueType::kFloat32;
  ValueType weight = ValueType::kFloat32;  // a parameter's dtype (packed storage says its own)
  WeightStorage storage = WeightStorage::kParameter;
  BiasKind bias = BiasKind::kNone;
  bool same_dtype = true;   // input and parameter share one dtype (kOther is not one dtype)
  bool on_cpu = true;       // input and weight on the CPU, W a contiguous matrix, x strided with k > 0 features
  bool autograd = false;    // autograd records the product (the kernels have no backward)
  bool autocast = false;    // autocast is on for the input's device
};

// The CPU facts the choice depends on (CpuKind::here() for this machine; tests name other kinds).
struct CpuKind {
  bool avx512_bf16 = false;     // using_avx512_bf16()
  bool fast_bf16_gemm = false;  // fast_bf16_gemm()
  static CpuKind here();
};

LinearKernel choose_linear_kernel(const LinearCall& call, const CpuKind& cpu = CpuKind::here());

// The thresholds the choice uses (named for tests that probe around them): up to kBf16DotRows bf16
// rows take bf16_dot_rows; packed rows-stored weights take their row kernel up to
// packed_rows_limit rows (0 for panels, whose products are the panel kernel's or GEMM's).
constexpr int64_t kBf16DotRows = 16;
int64_t packed_rows_limit(WeightStorage storage, ValueType input, const CpuKind& cpu = CpuKind::here());
// Whether the GEMM paths for packed weights (kOneDnnBf16, kInt8PanelBlocks, kWidenedBlocks)
// multiply this input in bf16 (where libtorch's bf16 GEMM is fast), else in fp32.
bool gemm_in_bf16(ValueType input, const CpuKind& cpu = CpuKind::here());

// Whether a bf16 parameter is packed as panels (else as bf16 rows): where the panel kernel runs.
bool bf16_weights_as_panels(const CpuKind& cpu = CpuKind::here());

// The table for one CPU kind: each input dtype and weight storage against row counts around every
// threshold, one line each ("input bfloat16, weight packed int8: 1-16 int8_rows, 17+ ...").
std::string linear_kernel_table(const CpuKind& cpu = CpuKind::here());

}  // namespace medvqa::kernels
