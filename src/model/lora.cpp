#include "model/lora.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/safetensors.h"
#include "model/linear.h"
#include "model/weights.h"

namespace medvqa::model {
namespace {

const std::string kAdapterPrefix = "base_model.model.";

bool targeted(const std::string& name, const std::vector<std::string>& targets) {
  for (const auto& t : targets) {
    if (name == t) return true;
    if (name.size() > t.size() && name.compare(name.size() - t.size() - 1, t.size() + 1, "." + t) == 0) return true;
  }
  return false;
}

template <typename Fn>
void for_each_linear(torch::nn::Module& root, Fn fn) {
  for (auto& item : root.named_modules("", /*include_self=*/false))
    if (auto* linear = dynamic_cast<LinearImpl*>(item.value().get())) fn(item.key(), *linear);
}

}  // namespace

// The low-rank branch of LinearImpl (linear.h), as PEFT's LoRA layer computes it.
torch::Tensor LinearImpl::lora_branch(const torch::Tensor& x) {
  auto h = lora_dropout_ > 0 && is_training() ? torch::dropout(x, lora_dropout_, true) : x;
  return lora_B(lora_A(h)) * lora_scaling_;
}

void LinearImpl::add_lora(int64_t r, double scaling, double dropout) {
  auto opts = weight.options();
  lora_A = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features, r).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(r, out_features).bias(false)));
  // PEFT: A ~ kaiming_uniform(a=√5), B = 0, so a fresh adapter leaves the model unchanged.
  torch::NoGradGuard no_grad;
  lora_A->weight.set_data(lora_A->weight.to(opts));
  lora_B->weight.set_data(torch::zeros({out_features, r}, opts));
  lora_scaling_ = scaling;
  lora_dropout_ = dropout;
}

void LinearImpl::merge_lora() {
  if (!has_lora()) return;
  if (packed) throw Error("LoRA branches are merged into fp32 weights; merge before packing them");
  torch::NoGradGuard no_grad;
  auto delta = torch::matmul(lora_B->weight.to(torch::kFloat32), lora_A->weight.to(torch::kFloat32)) * lora_scaling_;
  weight.add_(delta.to(weight.scalar_type()));
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = nullptr;
  lora_B = nullptr;
}

std::vector<std::string> add_lora(torch::nn::Module& root, const LoraConfig& config) {
  std::vector<std::string> adapted;
  for_each_linear(root, [&](const std::string& name, LinearImpl& linear) {
    if (!targeted(name, config.target_modules)) return;
    linear.add_lora(config.r, config.scaling(), config.lora_dropout);
    adapted.push_back(name);
  });
  if (adapted.empty()) throw Error("LoRA target_modules match no linear layer of the model");
  return adapted;
}

LoraConfig load_lora_adapter(torch::nn::Module& root, const std::string& dir) {
  auto config = LoraConfig::from_json(read_json_file((std::filesystem::path(dir) / "adapter_config.json").string()));
  add_lora(root, config);
  auto state = io::load_checkpoint(dir);
  auto report = load_weights(root, state, kAdapterPrefix, dir);
  // Only the LoRA parameters come from the adapter; the base model's are not expected in it.
  std::vector<std::string> missing_lora;
  for (const auto& m : report.missing)
    if (m.find(".lora_") != std::string::npos) missing_lora.push_back(m);
  report.missing = missing_lora;
  require_complete(report, dir);
  if (!report.unexpected.empty())
    throw Error(dir + ": adapter tensor '" + report.unexpected.front() + "' matches no LoRA layer of the model");
  return config;
}

void save_lora_adapter(const torch::nn::Module& root, const LoraConfig& config, const std::string& dir,
                       const std::string& base_model_name_or_path) {
  std::filesystem::create_directories(dir);
  auto state = module_weights(root, kAdapterPrefix,
                              [](const std::string& n) { return n.find(".lora_") != std::string::npos; });
  if (state.empty()) throw Error("the model has no LoRA layers to save");
  io::save_safetensors((std::filesystem::path(dir) / "adapter_model.safetensors").string(), state, {{"format", "pt"}});
  io::write_file_atomically((std::filesystem::path(dir) / "adapter_config.json").string(),
                            config.to_json(base_model_name_or_path).dump(2) + "\n");
}

void merge_lora(torch::nn::Module& root) {
  for_each_linear(root, [](const std::string&, LinearImpl& linear) { linear.merge_lora(); });
}

void set_lora_enabled(torch::nn::Module& root, bool enabled) {
  for_each_linear(root, [&](const std::string&, LinearImpl& linear) { linear.set_lora_enabled(enabled); });
}

}  // namespace medvqa::model
