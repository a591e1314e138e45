#include <iostream>

#include "app/commands.h"
#include "train/trainer.h"

namespace medvqa::app {

Command add_train(CLI::App& root) {
  struct Options {
    std::string config;
    bool resume = false;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("train",
                                  "Train one stage (captioning, general VQA or radiology VQA) from a JSON config "
                                  "(configs/train/); writes checkpoints, metrics.jsonl and the best model");
  cmd->add_option("--config", o->config, "Stage config, e.g. configs/train/small-3-slake.json")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--resume", o->resume, "Continue from the run's last checkpoint (exactly where it stopped)");
  cmd->add_option("--threads", o->threads, "CPU threads (default: the config's, else all cores)");
  return {cmd, [o]() {
    auto config = train::TrainConfig::from_file(o->config);
    if (o->threads > 0) config.threads = o->threads;
    train::Trainer trainer(config);
    trainer.run(o->resume);
    std::cout << "finished at step " << trainer.state().step << "; best model: " << config.output_dir << "/best\n";
    return 0;
  }};
}

}  // namespace medvqa::app
