#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "io/error.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "text/tokenizer.h"

namespace medvqa::app {

Command add_export(CLI::App& root) {
  struct Options {
    std::string model, out, dtype = "bfloat16";
    bool merge_lora = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("export",
                                  "Write a model directory for shipping: weights in bf16 (or fp32), LoRA optionally "
                                  "merged into the base weights, with its tokenizer");
  cmd->add_option("--model", o->model, "Model directory, e.g. runs/small-3/best")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", o->out, "Directory to write")->required();
  cmd->add_option("--dtype", o->dtype, "bfloat16 or float32")->check(CLI::IsMember({"float32", "bfloat16"}));
  cmd->add_flag("--merge-lora", o->merge_lora, "Fold LoRA adapters into the language model's weights");
  return {cmd, [o]() {
    namespace fs = std::filesystem;
    auto m = model::load_medvqa(o->model, torch::kFloat32, torch::kCPU, o->merge_lora);
    std::optional<model::LoraConfig> lora;
    fs::path adapter = fs::path(o->model) / "adapter" / "adapter_config.json";
    if (!o->merge_lora && fs::exists(adapter)) lora = model::LoraConfig::from_json(model::read_json_file(adapter.string()));
    model::save_medvqa(m, o->out, model::parse_dtype(o->dtype), lora ? &*lora : nullptr);
    text::Tokenizer::from_file((fs::path(o->model) / "tokenizer.json").string())
        .save((fs::path(o->out) / "tokenizer.json").string());
    std::cout << "wrote " << o->out << "\n";
    return 0;
  }};
}

}  // namespace medvqa::app
