#pragma once
#include <string>
#include <vector>

namespace medvqa::testing {

// Runs a Python script with Debian's /usr/bin/python3 and its torch, which the torch.save tests
// need to write real checkpoints. The script sees `torch`, `collections`, `json`, `struct`, `sys`,
// `zipfile`, `os`, `pickle`, and `save_st(path, dict)` / `load_st(path)`: a plain safetensors
// writer and reader independent of ours. Throws std::runtime_error with the script's output on
// failure, or saying python3-torch is required when torch cannot be imported: those tests must
// fail where it is missing, never skip.
void run_python(const std::string& script, const std::vector<std::string>& args = {});

}  // namespace medvqa::testing
