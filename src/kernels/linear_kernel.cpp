#include "kernels/linear_kernel.h"

#include <vector>

#include "kernels/cpu_features.h"

namespace medvqa::kernels {
namespace {

// Why kBf16DotRows is 16: bf16 rows times a bf16 weight by AVX512-BF16 dot products, measured against oneDNN's bf16 GEMM
// (2 threads, 192-3072 wide layers) 2-4x faster at 1-4 rows, 1.2-2x at 8, even to 1.4x at 16,
// behind from 32-64 on most shapes (and libtorch's bf16 matrix-vector product loses ~3% to bf16
// accumulation). Against the AVX2 row kernel on a packed weight streamed from memory
// (1024 x 262144): 24 vs 17 GB/s at 2 rows, but 24 vs 32 at one, so a packed weight's single row
// (decoding) stays with bf16_rows.
// fp32 inference rows on fp32 parameters (a batch's decoding step, Q-Former queries, short
// prompts): the row kernel reads each weight once for all rows, BLAS packs the whole matrix
// first. Measured (192-1024 wide layers, 2 threads, AVX512 host): 2-3.7x faster at 2-8 rows,
// 1.3-1.4x at 16-26, even at 32, behind from 50 (0.6-0.7x).
constexpr int64_t kF32Rows = 24;

// Where the packed row kernels stop beating GEMM. fp32 BLAS on widened blocks (measured on AVX2
// with 2048 x 8192 weights): int8's vpmaddwd kernel ~100 GFLOP/s at 16-128 rows, the blocks 60 at
// 32 rows, 86 at 64, 92 at 128 (at bloom-560m's 1024-wide layers a 128-token int8 prefill ran at
// 66 GFLOP/s in the kernels vs 102 in blocks); the bf16 kernel ~60 GFLOP/s, equal to the blocks at
// 32 rows and behind from 64. bf16 inputs where oneDNN's bf16 GEMM is fast (AVX512, 1024-4096
// wide layers, 2 threads): bf16 weights 82-85 GFLOP/s in the kernel vs 42-44 in oneDNN at 1 row,
// even at 2, behind from 4 (97 vs 148); int8 139 vs 134-139 widened to bf16 at 16 rows, behind
// from 32 (137 vs 188).
// 4-bit weights take int8's limits (not measured apart yet).
int64_t rows_limit(bool int8, bool bf16_gemm) {
  if (bf16_gemm) return int8 ? 16 : 2;
  return int8 ? 64 : 32;
}

LinearKernel parameter_kernel(const LinearCall& c, const CpuKind& cpu) {
  const bool inference = !c.autograd && !c.autocast;
  if (c.input == ValueType::kBFloat16 && c.weight == ValueType::kBFloat16 && c.on_cpu && cpu.avx512_bf16 &&
      c.rows >= 1 && c.rows <= kBf16DotRows && c.bias != BiasKind::kOther && inference)
    return LinearKernel::kBf16Dot;
  // Autocast and mixed dtypes stay with libtorch's linear, which casts as autocast requires.
  if (c.rows == 1 && c.same_dtype && !c.autocast) return LinearKernel::kMatrixVector;
  if (c.input == ValueType::kFloat32 && c.weight == ValueType::kFloat32 && c.on_cpu && inference && c.rows >= 2 &&
      c.rows <= kF32Rows)
    return LinearKernel::kF32Rows;
  return LinearKernel::kTorchLinear;
}

LinearKernel packed_kernel(const LinearCall& c, const CpuKind& cpu) {
  const bool bf16_input = c.input == ValueType::kBFloat16;
  if (c.storage == WeightStorage::kPackedBf16Panels) {
    if (bf16_input && (c.bias == BiasKind::kNone || c.bias == BiasKind::kBf16Vector)) return LinearKernel::kPanelGemm;
    return LinearKernel::kWidenedBlocks;  // correct, but each call unpacks the whole weight
  }
  const bool int4 = c.storage == WeightStorage::kPackedInt4;
  if (int4) return c.rows <= rows_limit(true, gemm_in_bf16(c.input, cpu)) ? LinearKernel::kInt4Rows : LinearKernel::kWidenedBlocks;
  const bool int8 = c.storage == WeightStorage::kPackedInt8;
  if (!int8 && bf16_input && cpu.avx512_bf16 && c.rows >= 2 && c.rows <= kBf16DotRows) return LinearKernel::kBf16Dot;
  const bool bf16_gemm = gemm_in_bf16(c.input, cpu);
  if (c.rows <= rows_limit(int8, bf16_gemm)) return int8 ? LinearKernel::kInt8Rows : LinearKernel::kBf16Rows;
  if (!int8 && bf16_gemm) return LinearKernel::kOneDnnBf16;
  // Blocks widened into panels beat widening to rows for oneDNN to reorder again: 1.06-1.32x
  // (32-128 rows, 1024-8192 wide layers).
  if (int8 && bf16_gemm && cpu.avx512_bf16) return LinearKernel::kInt8PanelBlocks;
  return LinearKernel::kWidenedBlocks;
}

}  // namespace

const char* linear_kernel_name(LinearKernel kernel) {
  switch (kernel) {
    case LinearKernel::kPanelGemm: return "bf16_panel_gemm";
    case LinearKernel::kBf16Dot: return "bf16_dot_rows";
    case LinearKernel::kF32Rows: return "f32_rows";
    case LinearKernel::kBf16Rows: return "bf16_rows";
    case LinearKernel::kInt8Rows: return "int8_rows";
    case LinearKernel::kInt4Rows: return "int4_rows";
    case LinearKernel::kMatrixVector: return "torch_mv";
    case LinearKernel::kOneDnnBf16: return "onednn_bf16_gemm";
    case LinearKernel::kInt8PanelBlocks: return "int8_panel_blocks";
    case LinearKernel::kWidenedBlocks: return "widened_blocks_gemm";
    case LinearKernel::kTorchLinear: return "torch_linear";
  }
  return "?";
}

CpuKind CpuKind::here() { return {using_avx512_bf16(), kernels::fast_bf16_gemm()}; }

LinearKernel choose_linear_kernel(const LinearCall& call, const CpuKind& cpu) {
  return call.storage == WeightStorage::kParameter ? parameter_kernel(call, cpu) : packed_kernel(call, cpu);
}

int64_t packed_rows_limit(WeightStorage storage, ValueType input, const CpuKind& cpu) {
  if (storage == WeightStorage::kPackedBf16Panels || storage == WeightStorage::kParameter) return 0;
  const bool quantized = storage == WeightStorage::kPackedInt8 || storage == WeightStorage::kPackedInt4;
  return rows_limit(quantized, gemm_in_bf16(input, cpu));
}

bool gemm_in_bf16(ValueType input, const CpuKind& cpu) { return input == ValueType::kBFloat16 && cpu.fast_bf16_gemm; }

bool bf16_weights_as_panels(const CpuKind& cpu) { return cpu.avx512_bf16; }

std::string linear_kernel_table(const CpuKind& cpu) {
  struct Case {
    const char* label;
    ValueType input, weight;
    WeightStorage storage;
  };
  const ValueType f32 = ValueType::kFloat32, bf16 = ValueType::kBFloat16;
  std::vector<Case> cases = {
      {"fp32 input, fp32 parameter", f32, f32, WeightStorage::kParameter},
      {"bf16 input, bf16 parameter", bf16, bf16, WeightStorage::kParameter},
      {"fp32 input, packed bf16 rows", f32, bf16, WeightStorage::kPackedBf16Rows},
      {"bf16 input, packed bf16 rows", bf16, bf16, WeightStorage::kPackedBf16Rows},
      {"fp32 input, packed int8", f32, ValueType::kOther, WeightStorage::kPackedInt8},
      {"bf16 input, packed int8", bf16, ValueType::kOther, WeightStorage::kPackedInt8},
      {"fp32 input, packed int4", f32, ValueType::kOther, WeightStorage::kPackedInt4},
      {"bf16 input, packed int4", bf16, ValueType::kOther, WeightStorage::kPackedInt4},
  };
  if (bf16_weights_as_panels(cpu)) cases.push_back({"bf16 input, packed bf16 panels", bf16, bf16, WeightStorage::kPackedBf16Panels});
  std::string out = std::string("linear kernels on this CPU kind (avx512_bf16 ") + (cpu.avx512_bf16 ? "yes" : "no") +
                    ", fast bf16 GEMM " + (cpu.fast_bf16_gemm ? "yes" : "no") + "), inference without autocast:\n";
  constexpr int64_t kLastRows = 4096;  // beyond every threshold
  for (const auto& c : cases) {
    LinearCall call;
    call.input = c.input;
    call.weight = c.weight;
    call.storage = c.storage;
    call.same_dtype = c.input == c.weight;
    out += "  " + std::string(c.label) + ":";
    // Runs of row counts with one kernel: "1 torch_mv, 2-24 f32_rows, 25+ torch_linear".
    int64_t first = 1;
    for (int64_t m = 1; m <= kLastRows; ++m) {
      call.rows = first;
      const LinearKernel run = choose_linear_kernel(call, cpu);
      call.rows = m + 1;
      if (m < kLastRows && choose_linear_kernel(call, cpu) == run) continue;
      const std::string range = m == kLastRows ? std::to_string(first) + "+"
                                : m == first   ? std::to_string(first)
                                               : std::to_string(first) + "-" + std::to_string(m);
      out += std::string(first > 1 ? "," : "") + " " + range + " " + linear_kernel_name(run);
      first = m + 1;
    }
    out += "\n";
  }
  return out;
}

}  // namespace medvqa::kernels
