#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace medvqa::model {

struct LoadReport {
  std::vector<std::string> loaded, missing, unexpected;
};

// Fills a module's parameters from a state dict whose keys are `key_prefix` + the module's own
// parameter names (the module trees mirror the reference libraries', so no name tables are
// needed). A wrong shape is an error naming the key; tensors are converted to each parameter's
// dtype and device, viewing the checkpoint's memory when they already match. Parameters with no
// key are left as they are and listed in `missing`; keys under the prefix that name no parameter
// are listed in `unexpected`.
LoadReport load_weights(torch::nn::Module& module, const io::StateDict& state, const std::string& key_prefix,
                        const std::string& origin);

// Throws naming the first few missing parameters, if any.
void require_complete(const LoadReport& report, const std::string& what);

// The module's parameters as a state dict with `key_prefix` prepended, optionally filtered, for
// saving. Throws if a weight was released into packed storage (pack_for_inference).
io::StateDict module_weights(const torch::nn::Module& module, const std::string& key_prefix = "",
                             const std::function<bool(const std::string&)>& keep = nullptr);

}  // namespace medvqa::model
