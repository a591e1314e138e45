#include "model/init.h"

#include <string>

namespace medvqa::model {
namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void init_weights(torch::nn::Module& module, double std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& item : module.named_modules()) {
    auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(item.value().get());
    for (auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      const std::string& name = p.key();
      if (item.key().find("lora_") != std::string::npos) continue;
      if (ln != nullptr) {
        p.value().fill_(name == "weight" ? 1.0 : 0.0);
      } else if (ends_with(name, "bias")) {
        p.value().zero_();
      } else {
        p.value().normal_(0.0, std);
      }
    }
  }
}

}  // namespace medvqa::model
