// A sharded checkpoint's model.safetensors.index.json beside two real shards: the index may name
// any file, tensor or shard; loading either gives the tensors the index promises or a
// medvqa::Error.
#include <filesystem>

#include "fuzz_input.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/safetensors.h"

namespace {

void write_shards() {
  const std::string& dir = medvqa::fuzz::scratch_dir();
  medvqa::io::save_safetensors(dir + "/model-00001-of-00002.safetensors", {{"a.weight", torch::ones({2, 3})}});
  medvqa::io::save_safetensors(dir + "/model-00002-of-00002.safetensors",
                               {{"b.weight", torch::arange(4, torch::kBFloat16)}, {"b.bias", torch::zeros({1})}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool shards = (write_shards(), true);
  (void)shards;
  medvqa::fuzz::write_input(data, size, "model.safetensors.index.json");
  try {
    for (const auto& [name, tensor] : medvqa::io::load_checkpoint(medvqa::fuzz::scratch_dir()))
      (void)tensor.to(torch::kDouble).sum().item<double>();
  } catch (const medvqa::Error&) {
  }
  return 0;
}
