#include "io/convert.h"

#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace medvqa::io {

void convert_checkpoint(const std::string& input, const std::string& output_safetensors) {
  // save_safetensors writes each tensor's own contiguous bytes, which is what un-shares storages.
  save_safetensors(output_safetensors, load_checkpoint(input), {{"format", "pt"}});
}

}  // namespace medvqa::io
