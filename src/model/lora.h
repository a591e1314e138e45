#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/config.h"

namespace medvqa::model {

// PEFT LoRA on any module tree built from model::Linear. Keys in adapter files are
// "base_model.model." + the Linear's path under `root` + ".lora_A.weight" / ".lora_B.weight".

// Adds a fresh branch to every Linear that the config's target_modules names (PEFT's rule: the
// module name equals a target or ends with "." + target). Returns the adapted module paths.
std::vector<std::string> add_lora(torch::nn::Module& root, const LoraConfig& config);

// Reads adapter_config.json + adapter_model.safetensors (or .bin), adds the branches, loads them.
LoraConfig load_lora_adapter(torch::nn::Module& root, const std::string& adapter_dir);

// Writes the branches in PEFT's format (atomically, file by file).
void save_lora_adapter(const torch::nn::Module& root, const LoraConfig& config, const std::string& adapter_dir,
                       const std::string& base_model_name_or_path = "");

void merge_lora(torch::nn::Module& root);
void set_lora_enabled(torch::nn::Module& root, bool enabled);

}  // namespace medvqa::model
