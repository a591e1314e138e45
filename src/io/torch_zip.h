#pragma once
#include "io/checkpoint.h"

namespace medvqa::io {

// Reads a state dict written by torch.save (zip format, PyTorch >= 1.6) with a restricted
// unpickler: only the globals a state dict needs are accepted, so no code in the file can run.
StateDict load_torch_zip(const std::string& path);

}  // namespace medvqa::io
