// A torch.save file from anywhere: the zip reader, the inflater and the restricted unpickler, then
// every tensor read in full. Only medvqa::Error may come out, and no code in the file may run.
#include "fuzz_input.h"
#include "io/error.h"
#include "io/torch_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = medvqa::fuzz::write_input(data, size, "pytorch_model.bin");
  try {
    for (const auto& [name, tensor] : medvqa::io::load_torch_zip(path)) (void)tensor.to(torch::kDouble).sum().item<double>();
  } catch (const medvqa::Error&) {
  }
  return 0;
}
