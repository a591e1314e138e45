#pragma once
#include <string>

namespace medvqa::io {

// The listing `medvqa inspect PATH` prints: for each checkpoint file, its tensors as
// `name dtype [shape]` sorted by name; totals (tensors, parameters, bytes); and for a model
// directory the scalar settings of its config files (config.json, open_clip_config.json,
// adapter_config.json), including those nested under `*_config` / `*_cfg` objects.
std::string describe_checkpoint(const std::string& path);

}  // namespace medvqa::io
