#include "app/precision.h"

#include "model/packed_weight.h"
#include "model/pretrained.h"

namespace medvqa::app {

void add_precision_options(CLI::App* cmd, PrecisionOptions& o) {
  cmd->add_option("--dtype", o.dtype, "Compute dtype: float32 or bfloat16 (fast only where the CPU has AVX512-BF16/AMX)")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  cmd->add_option("--weights", o.weights,
                  "CPU storage of the language model's weights: auto (as the compute dtype), float32, bfloat16 (half "
                  "the bytes per token) or int8 (per-row scales, a quarter); arithmetic stays in the compute dtype. A bfloat16 "
                  "model on a CPU with AVX512-BF16 also keeps its image side's weights as bf16 panels for its GEMM")
      ->check(CLI::IsMember({"auto", "float32", "bfloat16", "int8"}));
}

infer::Answerer load_answerer(const std::string& dir, const PrecisionOptions& o) {
  const auto dtype = model::parse_dtype(o.dtype);
  if (o.weights == "auto") return infer::Answerer::load(dir, dtype);
  return infer::Answerer::load(dir, dtype, torch::kCPU, model::parse_weight_format(o.weights));
}

}  // namespace medvqa::app
