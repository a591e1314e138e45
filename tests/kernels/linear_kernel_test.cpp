// The linear layers' choice of kernel, one table: which kernel runs for each row count, input
// dtype, weight storage, bias and CPU kind. A changed threshold or a new path changes a row here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/linear_kernel.h"

namespace medvqa::kernels {
namespace {

using K = LinearKernel;
constexpr ValueType f32 = ValueType::kFloat32, bf16 = ValueType::kBFloat16, other = ValueType::kOther;
constexpr WeightStorage param = WeightStorage::kParameter, rows16 = WeightStorage::kPackedBf16Rows,
                        panels = WeightStorage::kPackedBf16Panels, int8 = WeightStorage::kPackedInt8,
                        int4 = WeightStorage::kPackedInt4;
const CpuKind avx512_bf16{true, true};  // Sapphire Rapids, Zen 4
const CpuKind avx512{false, true};      // AVX512 without BF16 (Skylake-X)
const CpuKind avx2{false, false};

struct Row {
  CpuKind cpu;
  const char* cpu_name;
  int64_t rows;
  ValueType input;
  ValueType weight;  // a parameter's dtype
  WeightStorage storage;
  K expected;
  BiasKind bias = BiasKind::kNone;
  bool autograd = false, autocast = false, on_cpu = true;
};

std::string describe(const Row& r) {
  auto type = [](ValueType t) { return t == f32 ? "fp32" : t == bf16 ? "bf16" : "other"; };
  return std::string(r.cpu_name) + ", " + std::to_string(r.rows) + " rows of " + type(r.input) + ", storage " +
         std::to_string(int(r.storage)) + ", weight " + type(r.weight) + ", bias " + std::to_string(int(r.bias)) +
         (r.autograd ? ", autograd" : "") + (r.autocast ? ", autocast" : "") + (r.on_cpu ? "" : ", not on the CPU");
}

TEST(LinearKernel, TheTable) {
  const std::vector<Row> table = {
      // Parameters (training, fp32 inference, bf16 inference on weights that were not packed).
      {avx2, "avx2", 1, f32, f32, param, K::kMatrixVector},
      {avx2, "avx2", 2, f32, f32, param, K::kF32Rows},
      {avx2, "avx2", 24, f32, f32, param, K::kF32Rows},
      {avx2, "avx2", 25, f32, f32, param, K::kTorchLinear},
      {avx2, "avx2", 8, f32, f32, param, K::kTorchLinear, BiasKind::kNone, /*autograd=*/true},
      {avx2, "avx2", 8, f32, f32, param, K::kTorchLinear, BiasKind::kNone, false, /*autocast=*/true},
      {avx2, "avx2", 1, f32, f32, param, K::kMatrixVector, BiasKind::kNone, /*autograd=*/true},  // mv has a backward
      {avx2, "avx2", 1, f32, f32, param, K::kTorchLinear, BiasKind::kNone, false, /*autocast=*/true},
      {avx2, "avx2", 8, f32, f32, param, K::kTorchLinear, BiasKind::kNone, false, false, /*on_cpu=*/false},  // a GPU
      {avx2, "avx2", 1, f32, f32, param, K::kMatrixVector, BiasKind::kNone, false, false, /*on_cpu=*/false},
      {avx2, "avx2", 1, bf16, f32, param, K::kTorchLinear},  // mixed dtypes: libtorch casts
      {avx2, "avx2", 1, bf16, bf16, param, K::kMatrixVector},
      {avx2, "avx2", 8, bf16, bf16, param, K::kTorchLinear},
      {avx512_bf16, "avx512_bf16", 1, bf16, bf16, param, K::kBf16Dot},
      {avx512_bf16, "avx512_bf16", 16, bf16, bf16, param, K::kBf16Dot, BiasKind::kBf16},
      {avx512_bf16, "avx512_bf16", 16, bf16, bf16, param, K::kTorchLinear, BiasKind::kOther},
      {avx512_bf16, "avx512_bf16", 17, bf16, bf16, param, K::kTorchLinear},
      {avx512_bf16, "avx512_bf16", 4, bf16, bf16, param, K::kTorchLinear, BiasKind::kNone, /*autograd=*/true},
      {avx512_bf16, "avx512_bf16", 4, bf16, bf16, param, K::kTorchLinear, BiasKind::kNone, false, /*autocast=*/true},
      {avx512_bf16, "avx512_bf16", 8, f32, f32, param, K::kF32Rows},
      // Packed bf16 rows (an fp32 model's weights stored in bf16; bf16 models on CPUs without AVX512-BF16).
      {avx2, "avx2", 1, f32, bf16, rows16, K::kBf16Rows},
      {avx2, "avx2", 32, f32, bf16, rows16, K::kBf16Rows},
      {avx2, "avx2", 33, f32, bf16, rows16, K::kWidenedBlocks},
      {avx2, "avx2", 33, bf16, bf16, rows16, K::kWidenedBlocks},  // slow bf16 GEMM: fp32 blocks
      {avx512, "avx512", 2, bf16, bf16, rows16, K::kBf16Rows},
      {avx512, "avx512", 3, bf16, bf16, rows16, K::kOneDnnBf16},
      {avx512, "avx512", 3, f32, bf16, rows16, K::kBf16Rows},
      {avx512_bf16, "avx512_bf16", 1, bf16, bf16, rows16, K::kBf16Rows},  // decoding streams: the AVX2 kernel
      {avx512_bf16, "avx512_bf16", 2, bf16, bf16, rows16, K::kBf16Dot},
      {avx512_bf16, "avx512_bf16", 16, bf16, bf16, rows16, K::kBf16Dot},
      {avx512_bf16, "avx512_bf16", 17, bf16, bf16, rows16, K::kOneDnnBf16},
      // Panels (a bf16 model on AVX512-BF16): every bf16 input, with its bias if that is n bf16 values.
      {avx512_bf16, "avx512_bf16", 1, bf16, bf16, panels, K::kPanelGemm},
      {avx512_bf16, "avx512_bf16", 4096, bf16, bf16, panels, K::kPanelGemm, BiasKind::kBf16Vector},
      {avx512_bf16, "avx512_bf16", 5, bf16, bf16, panels, K::kWidenedBlocks, BiasKind::kBf16},  // broadcast bias
      {avx512_bf16, "avx512_bf16", 5, f32, bf16, panels, K::kWidenedBlocks},
      // int8.
      {avx2, "avx2", 64, f32, other, int8, K::kInt8Rows},
      {avx2, "avx2", 65, f32, other, int8, K::kWidenedBlocks},
      {avx2, "avx2", 65, bf16, other, int8, K::kWidenedBlocks},
      {avx2, "avx2", 64, other, other, int8, K::kInt8Rows},  // fp16 inputs: rows in fp32
      {avx512, "avx512", 16, bf16, other, int8, K::kInt8Rows},
      {avx512, "avx512", 17, bf16, other, int8, K::kWidenedBlocks},  // widened to bf16 for oneDNN
      {avx512_bf16, "avx512_bf16", 16, bf16, other, int8, K::kInt8Rows},
      {avx512_bf16, "avx512_bf16", 17, bf16, other, int8, K::kInt8PanelBlocks},
      {avx512_bf16, "avx512_bf16", 65, f32, other, int8, K::kWidenedBlocks},
      // int4: int8's limits; longer inputs widen blocks for the GEMM of the input's dtype.
      {avx2, "avx2", 1, f32, other, int4, K::kInt4Rows},
      {avx2, "avx2", 64, f32, other, int4, K::kInt4Rows},
      {avx2, "avx2", 65, f32, other, int4, K::kWidenedBlocks},
      {avx512_bf16, "avx512_bf16", 16, bf16, other, int4, K::kInt4Rows},
      {avx512_bf16, "avx512_bf16", 17, bf16, other, int4, K::kWidenedBlocks},
  };
  for (const auto& r : table) {
    LinearCall call;
    call.rows = r.rows;
    call.input = r.input;
    call.weight = r.weight;
    call.storage = r.storage;
    call.bias = r.bias;
    call.same_dtype = r.input == r.weight && r.input != other;
    call.on_cpu = r.on_cpu;
    call.autograd = r.autograd;
    call.autocast = r.autocast;
    const K chosen = choose_linear_kernel(call, r.cpu);
    EXPECT_EQ(linear_kernel_name(chosen), std::string(linear_kernel_name(r.expected))) << describe(r);
  }
}

TEST(LinearKernel, RowsLimitsAreTheTablesThresholds) {
  EXPECT_EQ(packed_rows_limit(rows16, f32, avx2), 32);
  EXPECT_EQ(packed_rows_limit(int8, f32, avx2), 64);
  EXPECT_EQ(packed_rows_limit(rows16, bf16, avx512), 2);
  EXPECT_EQ(packed_rows_limit(int8, bf16, avx512_bf16), 16);
  EXPECT_EQ(packed_rows_limit(int4, f32, avx2), 64);
  EXPECT_EQ(packed_rows_limit(int4, bf16, avx512_bf16), 16);
  EXPECT_EQ(packed_rows_limit(panels, bf16, avx512_bf16), 0);
  EXPECT_EQ(packed_rows_limit(param, f32, avx2), 0);
  EXPECT_TRUE(gemm_in_bf16(bf16, avx512));
  EXPECT_FALSE(gemm_in_bf16(bf16, avx2));
  EXPECT_FALSE(gemm_in_bf16(f32, avx512_bf16));
  EXPECT_TRUE(bf16_weights_as_panels(avx512_bf16));
  EXPECT_FALSE(bf16_weights_as_panels(avx2));
}

// What `medvqa bench --kernels` prints: runs of row counts per case, ending beyond every threshold.
TEST(LinearKernel, TablePrintsEachCaseAsRunsOfRowCounts) {
  const std::string avx2_table = linear_kernel_table(avx2);
  EXPECT_NE(avx2_table.find("fp32 input, fp32 parameter: 1 torch_mv, 2-24 f32_rows, 25+ torch_linear\n"),
            std::string::npos)
      << avx2_table;
  EXPECT_NE(avx2_table.find("fp32 input, packed int8: 1-64 int8_rows, 65+ widened_blocks_gemm\n"), std::string::npos)
      << avx2_table;
  EXPECT_NE(avx2_table.find("fp32 input, packed int4: 1-64 int4_rows, 65+ widened_blocks_gemm\n"), std::string::npos)
      << avx2_table;
  EXPECT_EQ(avx2_table.find("panels"), std::string::npos) << "no panels without AVX512-BF16";
  const std::string bf16_table = linear_kernel_table(avx512_bf16);
  EXPECT_NE(bf16_table.find("bf16 input, packed bf16 panels: 1+ bf16_panel_gemm\n"), std::string::npos) << bf16_table;
  EXPECT_NE(bf16_table.find("bf16 input, packed bf16 rows: 1 bf16_rows, 2-16 bf16_dot_rows, 17+ onednn_bf16_gemm\n"),
            std::string::npos)
      << bf16_table;
}

}  // namespace
}  // namespace medvqa::kernels
