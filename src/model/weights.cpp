#include "model/weights.h"

#include <set>

#include "io/error.h"

namespace medvqa::model {

LoadReport load_weights(torch::nn::Module& module, const io::StateDict& state, const std::string& key_prefix,
                        const std::string& origin) {
  LoadReport report;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string key = key_prefix + item.key();
    auto it = state.find(key);
    if (it == state.end()) {
      report.missing.push_back(key);
      continue;
    }
    auto& param = item.value();
    const auto& src = it->second;
    if (src.sizes() != param.sizes())
      throw Error(origin + ": tensor '" + key + "' has shape " + c10::str(src.sizes()) + " but the model expects " +
                  c10::str(param.sizes()) + " (does the config match the checkpoint?)");
    if (!src.is_floating_point() && param.is_floating_point())
      throw Error(origin + ": tensor '" + key + "' has integer type " + std::string(c10::toString(src.scalar_type())));
    param.set_data(src.to(param.device(), param.scalar_type()));
    used.insert(key);
    report.loaded.push_back(key);
  }
  for (const auto& [key, _] : state)
    if (key.rfind(key_prefix, 0) == 0 && !used.count(key)) report.unexpected.push_back(key);
  return report;
}

void require_complete(const LoadReport& report, const std::string& what) {
  if (report.missing.empty()) return;
  std::string names;
  for (size_t i = 0; i < report.missing.size() && i < 5; ++i) names += (i ? ", " : "") + report.missing[i];
  if (report.missing.size() > 5) names += ", ...";
  throw Error(what + ": " + std::to_string(report.missing.size()) + " weights missing from the checkpoint (" + names +
              ")");
}

io::StateDict module_weights(const torch::nn::Module& module, const std::string& key_prefix,
                             const std::function<bool(const std::string&)>& keep) {
  io::StateDict out;
  for (const auto& item : module.named_parameters(true)) {
    if (keep && !keep(item.key())) continue;
    // Packing for inference (pack_for_inference) releases a weight's tensor into its packed copy; saved,
    // it would be an empty tensor that no loader accepts.
    if (item.value().numel() == 0)
      throw Error("cannot save " + key_prefix + item.key() +
                  ": the model's weights were released into packed storage for inference (pack_for_inference); "
                  "save a model that was not packed");
    out[key_prefix + item.key()] = item.value().detach();
  }
  return out;
}

}  // namespace medvqa::model
