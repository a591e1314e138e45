#pragma once
#include <string>

namespace medvqa::io {

// Rewrites any checkpoint `load_checkpoint` reads (file, model directory or shard index) as one
// safetensors file, atomically, with metadata {"format": "pt"} as transformers writes it.
// Tensors that shared storage in the input become independent copies: safetensors cannot share.
void convert_checkpoint(const std::string& input, const std::string& output_safetensors);

}  // namespace medvqa::io
