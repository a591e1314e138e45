#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "io/error.h"
#include "io/mapped_file.h"
#include "model/pretrained.h"
#include "model/weight_average.h"
#include "text/tokenizer.h"

namespace medvqa::app {
Command add_average(CLI::App& root) {
  struct Options {
    std::vector<std::string> models;
    std::vector<double> weights;
    std::string out, dtype = "bfloat16";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "average",
      "Average the weights of models fine-tuned from the same start (a model soup, or the last checkpoints of one "
      "run) into one model directory; LoRA adapters are merged first. The first model's config and tokenizer are "
      "written; calibration is not (fit it again on the result with `eval calibrate`)");
  cmd->add_option("models", o->models, "Model directories, at least two")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--weights", o->weights, "One non-negative weight per model (default: equal)")->delimiter(',');
  cmd->add_option("--out", o->out, "Directory to write")->required();
  cmd->add_option("--dtype", o->dtype, "bfloat16 or float32")->check(CLI::IsMember({"float32", "bfloat16"}));
  return {cmd, [o]() {
    namespace fs = std::filesystem;
    if (o->models.size() < 2) throw Error("average needs at least two model directories");
    std::string tokenizer = io::read_text_file(o->models[0] + "/tokenizer.json");
    std::vector<model::MedVqaModel> models;
    for (const auto& dir : o->models) {
      if (io::read_text_file(dir + "/tokenizer.json") != tokenizer)
        throw Error(dir + "/tokenizer.json differs from " + o->models[0] + "/tokenizer.json: models with other "
                    "tokenizers cannot be averaged");
      models.push_back(model::load_medvqa(dir, torch::kFloat32, torch::kCPU, /*merge_adapter=*/true));
    }
    model::average_weights(models, o->weights, o->models);
    model::save_medvqa(models[0], o->out, model::parse_dtype(o->dtype));
    text::Tokenizer::from_file((fs::path(o->models[0]) / "tokenizer.json").string())
        .save((fs::path(o->out) / "tokenizer.json").string());
    std::cout << "wrote " << o->out << " (the average of " << o->models.size() << " models)\n";
    return 0;
  }};
}

}  // namespace medvqa::app
