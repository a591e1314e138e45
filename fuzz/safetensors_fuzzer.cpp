// A .safetensors file from anywhere: opening it validates the header against the file, then every
// tensor it lists is read in full. Anything wrong must be a medvqa::Error, never a crash or a read
// outside the file.
#include "fuzz_input.h"
#include "io/checkpoint.h"
#include "io/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = medvqa::fuzz::write_input(data, size, "model.safetensors");
  try {
    for (const auto& [name, tensor] : medvqa::io::load_checkpoint(path)) (void)tensor.to(torch::kDouble).sum().item<double>();
  } catch (const medvqa::Error&) {
  }
  return 0;
}
