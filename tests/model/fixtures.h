#pragma once
#include <string>

#include "model/medvqa_model.h"
#include "model/vit.h"

namespace medvqa::testing {

// The golden vit set names a tiny timm entrypoint that only exists in its harness; its sizes are
// in golden_info.json's timm_model_args, which these loaders pass as config overrides.
model::VisionConfig golden_vision_config(const std::string& vit_dir);
model::OpenClipVision load_golden_vision(const std::string& vit_dir, torch::Dtype dtype = torch::kFloat32,
                                         torch::Device device = torch::kCPU);

// The golden qformer set's Blip2ForConditionalGeneration with the vit set's tower as its vision
// model (as the golden harness wired it).
model::MedVqaModel load_golden_vlm(torch::Dtype dtype = torch::kFloat32, torch::Device device = torch::kCPU);

// Where the parity tests against the golden outputs compute: $MEDVQA_TEST_DEVICE (cpu, cuda,
// cuda:N), else the CPU, so that a CUDA build checks its GPU against PyTorch's numbers too.
// all_close compares on the CPU. Tests of the CPU kernels and of bf16 stay on the CPU.
torch::Device parity_device();

// A tiny random medvqa model, built with the project's own code, for unit tests.
model::MedVqaConfig tiny_medvqa_config();

}  // namespace medvqa::testing
