#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "io/error.h"
#include "model/pretrained.h"
#include "text/tokenizer.h"

namespace medvqa::app {

Command add_create_model(CLI::App& root) {
  struct Options {
    std::string config, tokenizer, out;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("create-model",
                                  "Write a freshly initialised model directory (the starting point of training "
                                  "from scratch): config, random weights, tokenizer.json");
  cmd->add_option("--config", o->config, "Model config JSON, e.g. configs/models/tiny.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json to ship with the model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Directory to write")->required();
  cmd->add_option("--seed", o->seed, "Initialisation seed");
  return {cmd, [o]() {
    auto m = model::create_medvqa(o->config, o->seed);
    auto tokenizer = text::Tokenizer::from_file(o->tokenizer);
    if (tokenizer.vocab_size() > m->config.text.vocab_size)
      throw Error(o->tokenizer + ": " + std::to_string(tokenizer.vocab_size()) + " tokens do not fit the config's vocab_size " +
                  std::to_string(m->config.text.vocab_size));
    model::save_medvqa(m, o->out);
    tokenizer.save((std::filesystem::path(o->out) / "tokenizer.json").string());
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    std::cout << "wrote " << o->out << " (" << n << " parameters)\n";
    return 0;
  }};
}

}  // namespace medvqa::app
