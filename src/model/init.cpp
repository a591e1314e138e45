#include "model/init.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "model/layer_norm.h"
#include "model/linear.h"

namespace medvqa::model {
namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void init_weights(torch::nn::Module& module, double std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  // A private generator: initialising a model leaves the global one alone (other threads, e.g.
  // data-parallel ranks in one process, may be drawing from it). Same stream as manual_seed(seed).
  at::Generator generator = at::detail::createCPUGenerator(seed);
  for (auto& item : module.named_modules()) {
    auto* ln = dynamic_cast<LayerNormImpl*>(item.value().get());
    for (auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      const std::string& name = p.key();
      if (item.key().find("lora_") != std::string::npos) continue;
      if (ln != nullptr) {
        p.value().fill_(name == "weight" ? 1.0 : 0.0);
      } else if (ends_with(name, "bias")) {
        p.value().zero_();
      } else {
        p.value().normal_(0.0, std, generator);
      }
    }
  }
}

}  // namespace medvqa::model
