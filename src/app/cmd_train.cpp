#include <iostream>

#include "app/commands.h"
#include "io/error.h"
#include "model/pretrained.h"
#include "train/contrastive_pretraining.h"
#include "train/distributed.h"
#include "train/language_pretraining.h"
#include "train/trainer.h"

namespace medvqa::app {

Command add_train(CLI::App& root) {
  struct Options {
    std::string config, device;
    int64_t seed = -1;  // none
    bool resume = false;
    int threads = 0;
    int nproc = 1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("train",
                                  "Train one stage from a JSON config (configs/train/): captioning, general VQA or "
                                  "radiology VQA, or (\"kind\") contrastive image-text or language-model "
                                  "pre-training; writes checkpoints, metrics.jsonl and the best model. "
                                  "Data-parallel under torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, "
                                  "MASTER_ADDR, MASTER_PORT) or with --nproc");
  cmd->add_option("--config", o->config, "Stage config, e.g. configs/train/small-3-slake-vqa-rad.json")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", o->device,
                  "cpu, cuda or cuda:N (default: the config's device, else cpu); data-parallel ranks given cuda "
                  "take cuda:LOCAL_RANK");
  cmd->add_option("--seed", o->seed,
                  "Run with another seed: the config's seed (data order, augmentation) and init_seed "
                  "(initial weights) offset by it, output_dir suffixed -seedN (for repeated ablation rows)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resume", o->resume, "Continue from the run's last checkpoint (exactly where it stopped)");
  cmd->add_option("--threads", o->threads, "CPU threads per process (default: the config's, else the cores / nproc)");
  cmd->add_option("--nproc", o->nproc,
                  "Data-parallel worker processes on this machine (each takes batch_size samples per step)")
      ->check(CLI::PositiveNumber);
  return {cmd, [o]() {
    auto env = train::DistributedEnv::from_environment();
    if (o->nproc > 1 && env.world_size == 1) {
      std::vector<std::string> args = {"train", "--config", o->config};
      if (o->resume) args.push_back("--resume");
      if (o->threads > 0) args.insert(args.end(), {"--threads", std::to_string(o->threads)});
      if (!o->device.empty()) args.insert(args.end(), {"--device", o->device});
      if (o->seed >= 0) args.insert(args.end(), {"--seed", std::to_string(o->seed)});
      return train::launch_local_workers(o->nproc, args);
    }
    auto config = train::TrainConfig::from_file(o->config);
    if (o->threads > 0) config.threads = o->threads;
    if (!o->device.empty()) config.device = model::parse_device(o->device);
    if (o->seed >= 0) {
      config.seed += uint64_t(o->seed) * 1000;
      config.init_seed += uint64_t(o->seed) * 1000;
      config.output_dir += "-seed" + std::to_string(o->seed);
    }
    if (config.kind != "vqa") {
      if (env.world_size > 1)
        throw Error("training config '" + config.name + "': " + config.kind +
                    " pre-training runs in one process (no --nproc or torchrun)");
      auto objective = config.kind == "contrastive" ? train::make_contrastive_objective(config, true)
                                                    : train::make_language_objective(config, true);
      int64_t step = train::run_pretraining(*objective, config, o->resume, true);
      std::cout << "finished at step " << step << "; best result: " << config.output_dir << "/best\n";
      return 0;
    }
    std::shared_ptr<train::Communicator> communicator;
    if (env.world_size > 1) communicator = std::make_shared<train::Communicator>(env);
    train::Trainer trainer(config, true, communicator);
    trainer.run(o->resume);
    if (env.rank == 0)
      std::cout << "finished at step " << trainer.state().step << "; best model: " << config.output_dir << "/best\n";
    return 0;
  }};
}

}  // namespace medvqa::app
