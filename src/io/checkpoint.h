#pragma once
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace medvqa::io {

using StateDict = std::map<std::string, torch::Tensor>;

// Loads every tensor of a checkpoint: a .safetensors file, a torch.save zip (.bin/.pt/.pth), a
// sharded index (*.index.json), or a model directory holding one of the files HF and open_clip
// write (model.safetensors[.index.json], pytorch_model.bin[.index.json],
// open_clip_model.safetensors, open_clip_pytorch_model.bin, adapter_model.safetensors|.bin).
StateDict load_checkpoint(const std::string& path);

// The checkpoint file(s) `load_checkpoint` would read for `path`, for messages and `inspect`.
std::vector<std::string> checkpoint_files(const std::string& path);

}  // namespace medvqa::io
