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
    if (!o->weights.empty() && o->weights.size() != o->models.size())
      throw Error("average: " + std::to_string(o->models.size()) + " models but " + std::to_string(o->weights.size()) +
                  " weights");
    auto weight = [&](size_t i) { return o->weights.empty() ? 1.0 : o->weights[i]; };
    const std::string tokenizer = io::read_text_file(o->models[0] + "/tokenizer.json");
    auto load = [&](const std::string& dir) {
      if (io::read_text_file(dir + "/tokenizer.json") != tokenizer)
        throw Error(dir + "/tokenizer.json differs from " + o->models[0] + "/tokenizer.json: models with other "
                    "tokenizers cannot be averaged");
      return model::load_medvqa(dir, torch::kFloat32, torch::kCPU, /*merge_adapter=*/true);
    };
    // One model in memory besides the first and the sums, however many are averaged.
    model::WeightAverage average(load(o->models[0]), weight(0), o->models[0]);
    for (size_t i = 1; i < o->models.size(); ++i) {
      auto m = load(o->models[i]);
      average.add(m, weight(i), o->models[i]);
    }
    auto mean = average.finish();
    model::save_medvqa(mean, o->out, model::parse_dtype(o->dtype));
    text::Tokenizer::from_file((fs::path(o->models[0]) / "tokenizer.json").string())
        .save((fs::path(o->out) / "tokenizer.json").string());
    std::cout << "wrote " << o->out << " (the average of " << o->models.size() << " models)\n";
    return 0;
  }};
}

}  // namespace medvqa::app
