#pragma once
#include <torch/torch.h>

#include <string>

#include "model/bloom.h"
#include "model/medvqa_model.h"
#include "model/vit.h"

namespace medvqa::model {

// Loaders for model directories as the reference libraries write them. Weights are converted to
// `dtype` (float32 or bfloat16) and moved to `device`; every loader fails with a message naming
// the file and the problem when a weight is missing or has the wrong shape.

// A transformers BLOOM directory (config.json + model.safetensors / pytorch_model.bin, sharded
// or not; keys with or without the `transformer.` prefix).
BloomForCausalLM load_bloom(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                            torch::Device device = torch::kCPU);

// Writes a transformers BLOOM directory (config.json, model.safetensors with BloomForCausalLM's
// keys, fp32) that load_bloom and a medvqa config's "language_weights" read.
void save_bloom(BloomForCausalLM& lm, const std::string& dir);

// An open_clip directory (open_clip_config.json + open_clip_model.safetensors or
// open_clip_pytorch_model.bin): the `visual.*` tower only.
OpenClipVision load_open_clip_vision(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                                     torch::Device device = torch::kCPU);
VisionConfig read_open_clip_config(const std::string& dir);

// A medvqa model directory: config.json (medvqa's, or a Blip2Config plus an open_clip
// vision_config), model.safetensors with the fused keys, and optionally
//  - "vision_weights" / "language_weights" in config.json: other checkpoints (relative paths)
//    for parts that model.safetensors lacks, e.g. BiomedCLIP and bloomz-7b1 themselves;
//  - an `adapter/` directory (PEFT LoRA on the language model), applied unmerged unless `merge`.
MedVqaModel load_medvqa(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                        torch::Device device = torch::kCPU, bool merge_adapter = false);

// A freshly initialised model from a config file (training from scratch, or the paper's
// start: the config's "vision_weights"/"language_weights", relative to the config file, fill
// the vision tower and the language model from their published checkpoints; Q-Former and
// projection start random: weights N(0, 0.02²), the Q-Former's N(0, initializer_range²)).
MedVqaModel create_medvqa(const std::string& config_path, uint64_t seed = 0);

// Writes a medvqa model directory (config.json, model.safetensors) atomically, file by file.
// LoRA branches, if any, go to `adapter/` in PEFT format (with `lora`'s config) instead.
void save_medvqa(MedVqaModel& model, const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                 const LoraConfig* lora = nullptr);

torch::Dtype parse_dtype(const std::string& name);  // "float32"/"fp32", "bfloat16"/"bf16"
// "cpu", "cuda" or "cuda:N"; throws naming the problem where this build of libtorch or this
// machine has no such device.
torch::Device parse_device(const std::string& name);
// The device itself where this build and this machine can compute on it, else that error.
torch::Device require_usable(torch::Device device);

}  // namespace medvqa::model
