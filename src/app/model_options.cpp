#include "app/model_options.h"

#include "io/error.h"
#include "model/packed_weight.h"
#include "model/pretrained.h"

namespace medvqa::app {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("--dtype", o.dtype,
                  "Compute dtype: float32 or bfloat16 (on a CPU, fast only where it has AVX512-BF16/AMX)")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  cmd->add_option("--weights", o.weights,
                  "CPU storage of the language model's weights: auto (as the compute dtype), float32, bfloat16 (half "
                  "the bytes per token), int8 (per-row scales, a quarter) or int4 (groups of 32 with an fp16 scale, as llama.cpp's "
                  "Q4_0: 0.14); arithmetic stays in the compute dtype. A bfloat16 "
                  "model on a CPU with AVX512-BF16 also keeps its image side's weights as bf16 panels for its GEMM")
      ->check(CLI::IsMember({"auto", "float32", "bfloat16", "int8", "int4"}));
  cmd->add_option("--device", o.device,
                  "cpu (default), cuda or cuda:N: where the model computes (cuda needs a CUDA build of libtorch)")
      ->check([](const std::string& name) {
        try {
          model::parse_device(name);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      });
}

infer::Answerer load_answerer(const std::string& dir, const ModelOptions& o) {
  const auto dtype = model::parse_dtype(o.dtype);
  const auto device = model::parse_device(o.device);
  if (o.weights == "auto") return infer::Answerer::load(dir, dtype, device);
  return infer::Answerer::load(dir, dtype, device, model::parse_weight_format(o.weights));
}

}  // namespace medvqa::app
