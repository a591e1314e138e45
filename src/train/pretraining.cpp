#include "train/pretraining.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "io/atomic_file.h"
#include "io/error.h"
#include "model/autocast.h"
#include "model/config.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "train/loss.h"
#include "train/metrics_log.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace medvqa::train {
namespace fs = std::filesystem;

void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) {
    auto* t = source.find(p.key());
    if (t == nullptr) throw Error("copy_parameters: the source lacks " + p.key());
    p.value().copy_(*t);
  }
}

int64_t run_pretraining(PretrainingObjective& objective, const TrainConfig& config, bool resume, bool verbose,
                        int64_t stop_after) {
  const torch::Device device = model::require_usable(config.device);
  model::set_compute_threads(config.threads);
  NamedTensors trainable;
  for (auto& p : objective.module().named_parameters())
    if (p.value().requires_grad()) trainable.emplace_back(p.key(), p.value());
  if (trainable.empty()) throw Error("training config '" + config.name + "': nothing to train");
  auto optimizer = make_adamw(trainable, config);

  const fs::path out = config.output_dir, checkpoint = out / "checkpoint", best = out / "best";
  const MetricsLog metrics((out / "metrics.jsonl").string());
  fs::create_directories(out);
  io::write_file_atomically((out / "config.json").string(), config.to_json().dump(2) + "\n");
  int64_t step = 0, best_step = -1;
  double best_metric = -INFINITY;
  fs::path existing = io::existing_directory(checkpoint);
  if (resume && !existing.empty()) {
    auto state = model::read_json_file((existing / "trainer_state.json").string());
    objective.load((existing / "model").string());
    torch::load(*optimizer.adamw, (existing / "optimizer.pt").string(), device);
    step = state.at("step").get<int64_t>();
    best_step = state.at("best_step").get<int64_t>();
    best_metric = best_step < 0 ? -INFINITY : state.at("best_metric").get<double>();
    metrics.resume_at(step);
    if (verbose) std::cerr << "resumed from " << existing.string() << " at step " << step << "\n";
  } else {
    metrics.clear();
  }
  auto save_checkpoint = [&]() {
    io::replace_directory(checkpoint, [&](const fs::path& dir) {
      objective.save((dir / "model").string());
      torch::save(*optimizer.adamw, (dir / "optimizer.pt").string());
      nlohmann::json state = {{"step", step}, {"best_step", best_step},
                              {"best_metric", best_step < 0 ? 0.0 : best_metric}, {"config", config.to_json()}};
      io::write_file_atomically((dir / "trainer_state.json").string(), state.dump(2) + "\n");
    });
  };
  auto evaluate = [&]() {
    torch::NoGradGuard no_grad;
    objective.module().eval();
    nlohmann::json e;
    {
      model::AutocastGuard autocast(config.compute_dtype() == torch::kBFloat16, device);
      e = objective.evaluate();
    }
    objective.module().train();
    e["step"] = step;
    metrics.append(e);
    if (verbose) std::cerr << "eval step " << step << ": " << e.dump() << "\n";
    double metric = e.at("metric").get<double>();
    if (best_step < 0 || metric > best_metric) {
      best_metric = metric;
      best_step = step;
      io::replace_directory(best, [&](const fs::path& dir) { objective.save(dir.string()); });
    }
  };

  // The untrained start is the first row of the validation curve: what pre-training adds.
  if (step == 0 && config.eval_every > 0) evaluate();
  objective.module().train();
  int64_t steps_this_call = 0;
  auto start = std::chrono::steady_clock::now();
  while (step < config.max_steps) {
    auto t0 = std::chrono::steady_clock::now();
    torch::manual_seed(config.seed * 1000003 + uint64_t(step));
    double lr = learning_rate(step, config.lr, config.warmup_steps, config.max_steps, config.min_lr_ratio);
    optimizer.set_learning_rate(lr);
    optimizer.adamw->zero_grad();
    torch::Tensor loss;
    {
      model::AutocastGuard autocast(config.compute_dtype() == torch::kBFloat16, device);
      loss = objective.loss(step);
    }
    loss.backward();
    double value = loss.item<double>();
    if (!std::isfinite(value))
      throw Error("training '" + config.name + "' stopped: the loss is " + std::to_string(value) + " at step " +
                  std::to_string(step) + "; the last good checkpoint is in " + checkpoint.string() +
                  " (lower lr, or check the data)");
    std::vector<torch::Tensor> params;
    for (const auto& [_, t] : trainable) params.push_back(t);
    double grad_norm = torch::nn::utils::clip_grad_norm_(params, config.grad_clip > 0 ? config.grad_clip : 1e30);
    optimizer.adamw->step();
    ++step;
    ++steps_this_call;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics.append({{"step", step}, {"loss", value}, {"lr", lr}, {"grad_norm", grad_norm},
                                        {"samples_per_second", double(config.batch_size) / seconds}});
    if (verbose && (step % config.log_every == 0 || step == 1))
      std::cerr << "step " << step << "/" << config.max_steps << " loss " << value << " lr " << lr << " grad_norm "
                << grad_norm << " samples/s " << double(config.batch_size) / seconds << " elapsed "
                << int(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) << " s\n";
    const bool last = step == config.max_steps;
    if (config.eval_every > 0 && (step % config.eval_every == 0 || last)) evaluate();
    const bool pause = stop_after > 0 && steps_this_call >= stop_after;
    if (last || pause || (config.checkpoint_every > 0 && step % config.checkpoint_every == 0)) save_checkpoint();
    if (pause) break;
  }
  if (best_step < 0 && step == config.max_steps)
    io::replace_directory(best, [&](const fs::path& dir) { objective.save(dir.string()); });
  return step;
}

}  // namespace medvqa::train
