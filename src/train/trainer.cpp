#include "train/trainer.h"

#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/cuda.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "eval/report.h"
#include "infer/answerer.h"
#include "infer/evaluate.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "model/autocast.h"
#include "model/init.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "model/threads.h"
#include "train/epoch_order.h"
#include "train/loss.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace medvqa::train {
namespace fs = std::filesystem;

namespace {

// The config's device; a data-parallel rank given "cuda" takes the GPU of its local rank.
torch::Device training_device(torch::Device configured, int local_rank) {
  auto device = model::require_usable(configured);
  if (device.is_cuda() && !device.has_index())
    device = {torch::kCUDA, torch::DeviceIndex(local_rank % int(torch::cuda::device_count()))};
  // Made current, so that this process touches no other GPU (allocations, kernels, context).
  if (device.is_cuda()) c10::impl::VirtualGuardImpl(device.type()).setDevice(device);
  return device;
}

std::string format_duration(double seconds) {
  int64_t s = int64_t(seconds);
  std::ostringstream out;
  out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return out.str();
}

}  // namespace

Trainer::Trainer(TrainConfig config, bool verbose, std::shared_ptr<Communicator> communicator)
    : config_(std::move(config)),
      verbose_(verbose),
      communicator_(std::move(communicator)),
      device_(training_device(config_.device, communicator_ ? communicator_->local_rank() : 0)) {
  if (!is_writer()) verbose_ = false;
  if (config_.kind != "vqa")
    throw Error("training config '" + config_.name + "': kind '" + config_.kind +
                "' is a pre-training stage (train::run_pretraining), not the VQA trainer's");
  model::set_compute_threads(config_.threads);
  if (!config_.init_model.empty()) {
    model_ = model::load_medvqa(config_.init_model);
    tokenizer_ = text::Tokenizer::from_file((fs::path(config_.init_model) / "tokenizer.json").string());
  } else {
    model_ = model::create_medvqa(config_.model_config, config_.init_seed);
    tokenizer_ = text::Tokenizer::from_file(config_.tokenizer);
  }
  if (tokenizer_->vocab_size() > model_->config.text.vocab_size)
    throw Error("tokenizer has more tokens than the language model's vocab_size");
  if (config_.prompt_template) model_->config.prompt_template = *config_.prompt_template;
  // The saved model prompts follow-ups as this stage trained them.
  model_->config.follow_ups_in_prompt = config_.history_probability > 0;
  fs::path adapter = fs::path(config_.init_model) / "adapter" / "adapter_config.json";
  if (!config_.init_model.empty() && fs::exists(adapter)) {
    config_.lora = model::LoraConfig::from_json(model::read_json_file(adapter.string()));
  } else if (config_.lora) {
    model::add_lora(*model_->language_model, *config_.lora);
  }
  model_->to(device_);
  model_->train();

  const auto& v = model_->config.vision;
  preprocess_.image_size = int(v.image_size);
  preprocess_.mean = v.mean;
  preprocess_.std = v.std;
  format_ = {model_->config.prompt_template, config_.caption_prompt, config_.max_prompt_tokens,
             config_.max_target_tokens, model_->config.text.eos_token_id};
  augmentation_ = {config_.crop_scale_min, config_.flip_probability, config_.color_jitter};

  train_ = load_samples(config_.train, verbose_);
  order_ = EpochOrder(train_.size(), config_.seed);
  validation_ = load_samples(config_.validation, verbose_);
  if (train_.empty()) throw Error("training config '" + config_.name + "': the training sources hold no examples");
  std::vector<data::VqaExample> questions;
  for (const auto& s : train_) {
    questions.push_back(s.example);
    questions.back().image_path = s.image_path;
    questions.back().question = s.question;
    questions.back().answer = s.target;
  }
  const auto histories = infer::random_histories(questions, config_.history_probability,
                                                 size_t(config_.history_max_turns), config_.seed);
  for (size_t i = 0; i < train_.size(); ++i)
    train_tokens_.push_back(tokenize_sample(train_[i], *tokenizer_, format_, histories[i]));
  for (const auto& s : validation_) validation_tokens_.push_back(tokenize_sample(s, *tokenizer_, format_));
  std::vector<std::string> paths;
  for (const auto* set : {&train_, &validation_})
    for (const auto& s : *set) paths.push_back(s.image_path);
  auto t0 = std::chrono::steady_clock::now();
  images_ = std::make_unique<ImageCache>(paths, preprocess_, config_.loader_threads);
  if (verbose_)
    std::cerr << "decoded " << images_->size() << " images in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
  set_trainable();
  build_optimizer();
  // Ranks start from one set of weights even if their initialisations could differ.
  if (communicator_) {
    torch::NoGradGuard no_grad;
    communicator_->broadcast(model_->parameters());
  }
}

void Trainer::set_trainable() {
  trainable_.clear();
  std::vector<bool> matched(config_.trainable.size(), false);
  for (auto& p : model_->named_parameters()) {
    const std::string& name = p.key();
    bool train = false;
    for (size_t k = 0; k < config_.trainable.size(); ++k) {
      const auto& prefix = config_.trainable[k];
      if (prefix == "*" || (prefix == "lora" && name.find(".lora_") != std::string::npos) ||
          (prefix != "lora" && name.rfind(prefix, 0) == 0 && name.find(".lora_") == std::string::npos))
        train = matched[k] = true;
    }
    p.value().set_requires_grad(train);
    if (train) trainable_.emplace_back(name, p.value());
  }
  // A pattern that selects nothing is a typo ("qformer" for "qformer.", "lora" without a lora
  // section), not a request: training on would silently run another experiment.
  for (size_t k = 0; k < matched.size(); ++k)
    if (!matched[k])
      throw Error("training config '" + config_.name + "': trainable pattern '" + config_.trainable[k] +
                  "' matches no parameter of the model (prefixes of parameter names such as \"qformer.\", "
                  "\"language_model.\", \"visual.\", \"query_tokens\", or \"lora\" or \"*\")");
  if (trainable_.empty()) throw Error("training config: 'trainable' selects no parameter of the model");
  if (verbose_) {
    int64_t n = 0, total = 0;
    for (const auto& [_, t] : trainable_) n += t.numel();
    for (const auto& p : model_->parameters()) total += p.numel();
    std::cerr << "training " << n << " of " << total << " parameters\n";
  }
}

void Trainer::build_optimizer() { optimizer_ = make_adamw(trainable_, config_); }

Batch Trainer::next_batch() {
  // Every rank draws the whole global batch from the shared order (so all cursors agree) and
  // keeps its own slice of it.
  const int64_t global = config_.batch_size * world_size();
  const int64_t first = config_.batch_size * (communicator_ ? communicator_->rank() : 0);
  std::vector<const Sample*> samples;
  std::vector<const TokenizedSample*> tokens;
  std::vector<uint64_t> seeds;
  for (int64_t k = 0; k < global; ++k) {
    if (state_.cursor >= int64_t(train_.size())) {
      ++state_.epoch;
      state_.cursor = 0;
    }
    const uint64_t seed = mix_seed(mix_seed(config_.seed, uint64_t(state_.epoch)), uint64_t(state_.cursor));
    int64_t i = order_.of(state_.epoch)[size_t(state_.cursor++)];
    if (k < first || k >= first + config_.batch_size) continue;
    samples.push_back(&train_[size_t(i)]);
    tokens.push_back(&train_tokens_[size_t(i)]);
    seeds.push_back(seed);
  }
  return make_batch(samples, tokens, *images_, preprocess_, model_->config.text.pad_token_id, augmentation_, &seeds);
}

torch::Tensor Trainer::token_losses(const Batch& batch, double label_smoothing) {
  model::AutocastGuard autocast(config_.compute_dtype() == torch::kBFloat16, device_);
  return answer_token_losses(model_, batch.to(device_), label_smoothing);
}

StepMetrics Trainer::step() {
  auto t0 = std::chrono::steady_clock::now();
  const int rank = communicator_ ? communicator_->rank() : 0;
  torch::manual_seed(mix_seed(mix_seed(config_.seed, uint64_t(state_.step) + 1), uint64_t(rank)));
  double lr = learning_rate(state_.step, config_.lr, config_.warmup_steps, config_.max_steps, config_.min_lr_ratio);
  optimizer_.set_learning_rate(lr);
  optimizer_.adamw->zero_grad();
  std::vector<Batch> micro;
  double targets = 0;
  for (int64_t k = 0; k < config_.grad_accum; ++k) {
    micro.push_back(next_batch());
    targets += double((micro.back().labels != -100).sum().item<int64_t>());
  }
  if (communicator_) targets = communicator_->all_reduce_sum(targets);
  if (targets == 0) throw Error("training '" + config_.name + "': a step's batches hold no target tokens");
  double total = 0;
  for (const auto& batch : micro) {
    auto l = token_losses(batch, config_.label_smoothing).sum() / targets;
    l.backward();
    total += l.item<double>();
  }
  std::vector<torch::Tensor> params, grads;
  for (const auto& [_, t] : trainable_) {
    params.push_back(t);
    // A parameter this rank's batches did not reach still takes part in the sum.
    if (!t.grad().defined()) t.mutable_grad() = torch::zeros_like(t);
    grads.push_back(t.grad());
  }
  if (communicator_) {
    grads.push_back(torch::tensor({total}, torch::kFloat32));
    communicator_->all_reduce_sum(grads);
    total = grads.back().item<double>();
  }
  if (!std::isfinite(total))
    throw Error("training '" + config_.name + "' stopped: the loss is " + std::to_string(total) + " at step " +
                std::to_string(state_.step) + "; the last good checkpoint is in " + checkpoint_dir() +
                " (lower lr, or check the data)");
  std::map<std::string, double> part_squares;
  for (const auto& [name, t] : trainable_) {
    std::string part = name.substr(0, name.find('.'));
    part_squares[part == "query_tokens" ? "qformer" : part] += t.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  std::map<std::string, double> part_norms;
  for (const auto& [part, sq] : part_squares) part_norms[part] = std::sqrt(sq);
  double grad_norm = torch::nn::utils::clip_grad_norm_(params, config_.grad_clip > 0 ? config_.grad_clip : 1e30);
  optimizer_.adamw->step();
  ++state_.step;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {state_.step, total, lr, grad_norm,
          double(config_.batch_size * config_.grad_accum * world_size()) / seconds, part_norms};
}

EvalMetrics Trainer::evaluate(int64_t limit, bool blank_images) {
  EvalMetrics m;
  size_t n = validation_.size();
  if (limit > 0) n = std::min(n, size_t(limit));
  if (n == 0) return m;
  torch::NoGradGuard no_grad;
  model_->eval();
  // The questions are answered and scored by the code `medvqa ask` and `medvqa eval` run, so the
  // checkpoint selected here is the one that scores best there.
  infer::Answerer answerer(model_, *tokenizer_, config_.output_dir, device_);
  auto& predictions = m.predictions;
  double loss_sum = 0;
  int64_t batches = 0;
  const int64_t B = std::max<int64_t>(1, config_.batch_size);
  for (size_t start = 0; start < n; start += size_t(B)) {
    std::vector<const Sample*> samples;
    std::vector<const TokenizedSample*> tokens;
    for (size_t i = start; i < std::min(n, start + size_t(B)); ++i) {
      samples.push_back(&validation_[i]);
      tokens.push_back(&validation_tokens_[i]);
    }
    auto batch = make_batch(samples, tokens, *images_, preprocess_, model_->config.text.pad_token_id, augmentation_,
                            nullptr);
    if (blank_images) batch.pixels = normalize_pixels(torch::full_like(batch.pixels, 128.0), preprocess_);
    batch = batch.to(device_);
    // Unsmoothed, so validation losses compare across runs whatever their smoothing.
    loss_sum += token_losses(batch, 0.0).mean().item<double>();
    ++batches;
    std::vector<int64_t> rows;  // the questions of the batch (captions are scored by their loss only)
    std::vector<std::string> questions;
    for (size_t i = 0; i < samples.size(); ++i)
      if (!samples[i]->question.empty()) {
        rows.push_back(int64_t(i));
        questions.push_back(samples[i]->question);
      }
    if (rows.empty()) continue;
    auto pixels = batch.pixels.index_select(0, torch::tensor(rows, torch::kLong).to(device_));
    std::vector<infer::Answer> answers;
    {
      model::AutocastGuard autocast(config_.compute_dtype() == torch::kBFloat16, device_);
      answers = answerer.answer_pixels(pixels, questions);
    }
    for (size_t k = 0; k < rows.size(); ++k)
      predictions.push_back(infer::to_prediction(samples[size_t(rows[k])]->example, std::move(answers[k])));
  }
  model_->train();
  m.loss = loss_sum / double(batches);
  if (predictions.empty()) return m;
  const auto scores = eval::evaluate(predictions, {}, {}).total;
  m.n = int64_t(scores.n);
  m.n_closed = int64_t(scores.n_closed);
  m.n_open = int64_t(scores.n_open);
  m.overall = scores.exact_match.all.value().value_or(0);
  m.closed = scores.exact_match.closed.value().value_or(0);
  m.open = scores.exact_match.open.value().value_or(0);
  return m;
}

std::string Trainer::checkpoint_dir() const { return (fs::path(config_.output_dir) / "checkpoint").string(); }

void Trainer::save_checkpoint() {
  if (!is_writer()) return;
  io::replace_directory(checkpoint_dir(), [&](const fs::path& dir) {
    model::save_medvqa(model_, (dir / "model").string(), torch::kFloat32, config_.lora ? &*config_.lora : nullptr);
    tokenizer_->save((dir / "model" / "tokenizer.json").string());
    torch::save(*optimizer_.adamw, (dir / "optimizer.pt").string());
    nlohmann::json s = {{"step", state_.step},
                        {"epoch", state_.epoch},
                        {"cursor", state_.cursor},
                        {"best_metric", state_.best_metric},
                        {"best_step", state_.best_step},
                        {"evals_without_improvement", state_.evals_without_improvement},
                        {"config", config_.to_json()}};
    io::write_file_atomically((dir / "trainer_state.json").string(), s.dump(2) + "\n");
  });
}

void Trainer::load_checkpoint() {
  fs::path dir = io::existing_directory(checkpoint_dir());
  if (dir.empty()) throw Error("no checkpoint to resume in " + checkpoint_dir());
  auto s = model::read_json_file((dir / "trainer_state.json").string());
  auto loaded = model::load_medvqa((dir / "model").string());
  // Copy into the existing parameters, which the optimizer already refers to.
  torch::NoGradGuard no_grad;
  auto source = loaded->named_parameters();
  for (auto& p : model_->named_parameters()) {
    auto* t = source.find(p.key());
    if (t == nullptr) throw Error((dir / "model").string() + ": checkpoint lacks " + p.key());
    p.value().copy_(*t);
  }
  torch::load(*optimizer_.adamw, (dir / "optimizer.pt").string(), device_);
  state_.step = s.at("step").get<int64_t>();
  state_.epoch = s.at("epoch").get<int64_t>();
  state_.cursor = s.at("cursor").get<int64_t>();
  state_.best_metric = s.at("best_metric").get<double>();
  state_.best_step = s.at("best_step").get<int64_t>();
  state_.evals_without_improvement = s.at("evals_without_improvement").get<int64_t>();
  if (verbose_) std::cerr << "resumed from " << dir.string() << " at step " << state_.step << "\n";
}

void Trainer::save_best() {
  if (!is_writer()) return;
  io::replace_directory(fs::path(config_.output_dir) / "best", [&](const fs::path& dir) {
    model::save_medvqa(model_, dir.string(), torch::kFloat32, config_.lora ? &*config_.lora : nullptr);
    tokenizer_->save((dir / "tokenizer.json").string());
  });
}

MetricsLog Trainer::metrics_log() const { return MetricsLog((fs::path(config_.output_dir) / "metrics.jsonl").string()); }

void Trainer::append_metrics(const nlohmann::json& line) {
  if (is_writer()) metrics_log().append(line);
}

// Evaluates, keeps the best model, and says whether early stopping ends the run.
bool Trainer::evaluate_and_select(bool tty) {
  bool stop = false;
  auto e = evaluate(config_.eval_limit);
  bool vqa = e.n > 0;
  std::optional<EvalMetrics> blank;
  if (vqa && config_.eval_blank_images) blank = evaluate(config_.eval_limit, /*blank_images=*/true);
  double metric = vqa ? e.overall : -e.loss;  // captions: lower loss is better
  if (tty) std::cerr << "\n";
  if (verbose_)
    std::cerr << "eval step " << state_.step << ": loss " << e.loss << (vqa ? " exact match " : "")
              << (vqa ? std::to_string(e.overall) + " (closed " + std::to_string(e.closed) + ", open " +
                            std::to_string(e.open) + ", n " + std::to_string(e.n) + ")"
                      : std::string())
              << (blank ? "; with blank images " + std::to_string(blank->overall) : std::string()) << "\n";
  nlohmann::json line = {{"step", state_.step}, {"eval_loss", e.loss}, {"exact_match", e.overall},
                         {"exact_match_closed", e.closed}, {"exact_match_open", e.open}, {"eval_n", e.n}};
  if (blank)
    line.update({{"blank_images_exact_match", blank->overall}, {"blank_images_exact_match_closed", blank->closed},
                 {"blank_images_exact_match_open", blank->open}});
  append_metrics(line);
  if (metric > state_.best_metric || state_.best_step < 0) {
    state_.best_metric = metric;
    state_.best_step = state_.step;
    state_.evals_without_improvement = 0;
    save_best();
  } else if (config_.early_stopping_patience > 0 &&
             ++state_.evals_without_improvement >= config_.early_stopping_patience) {
    if (verbose_) std::cerr << "early stopping: no improvement in " << config_.early_stopping_patience << " evaluations\n";
    stop = true;
  }
  return stop;
}

void Trainer::run(bool resume, int64_t stop_after) {
  if (is_writer()) {
    fs::create_directories(config_.output_dir);
    io::write_file_atomically((fs::path(config_.output_dir) / "config.json").string(),
                              config_.to_json().dump(2) + "\n");
  }
  if (resume && !io::existing_directory(checkpoint_dir()).empty()) {
    load_checkpoint();
    if (is_writer()) metrics_log().resume_at(state_.step);
  } else if (is_writer()) {
    metrics_log().clear();
  }
  const bool tty = verbose_ && isatty(STDERR_FILENO);
  auto start = std::chrono::steady_clock::now();
  const int64_t first = state_.step;
  double recent_loss = 0;
  int64_t steps_this_call = 0;
  while (state_.step < config_.max_steps) {
    auto m = step();
    ++steps_this_call;
    recent_loss = recent_loss == 0 ? m.loss : 0.9 * recent_loss + 0.1 * m.loss;
    append_metrics({{"step", m.step}, {"loss", m.loss}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                    {"grad_norms", m.part_grad_norms}, {"samples_per_second", m.samples_per_second},
                    {"epoch", state_.epoch}});
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double eta = elapsed / double(state_.step - first) * double(config_.max_steps - state_.step);
    if (tty) {
      int width = 30, filled = int(width * state_.step / config_.max_steps);
      std::cerr << "\r[" << std::string(size_t(filled), '#') << std::string(size_t(width - filled), '.') << "] "
                << state_.step << "/" << config_.max_steps << " loss " << std::fixed << std::setprecision(4)
                << recent_loss << " lr " << std::scientific << std::setprecision(2) << m.lr << std::fixed
                << std::setprecision(1) << " " << m.samples_per_second << " samples/s ETA " << format_duration(eta)
                << "   " << std::flush;
    } else if (verbose_ && (state_.step % config_.log_every == 0 || state_.step == 1)) {
      std::cerr << "step " << state_.step << "/" << config_.max_steps << " loss " << m.loss << " lr " << m.lr
                << " grad_norm " << m.grad_norm << " samples/s " << m.samples_per_second << " eta "
                << format_duration(eta) << "\n";
    }
    bool last = state_.step == config_.max_steps;
    bool stop = false;
    if (!validation_.empty() && config_.eval_every > 0 && (state_.step % config_.eval_every == 0 || last)) {
      if (is_writer()) stop = evaluate_and_select(tty);
      if (communicator_) {
        // The other ranks wait here while rank 0 evaluates, then learn whether to stop early.
        auto flag = torch::tensor({stop ? 1 : 0}, torch::kInt32);
        communicator_->broadcast({flag});
        stop = flag.item<int>() != 0;
      }
    }
    bool pause = stop_after > 0 && steps_this_call >= stop_after;
    if (last || stop || pause || (config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0))
      save_checkpoint();
    if (stop || pause) break;
  }
  if (tty) std::cerr << "\n";
  // Without evaluations the last model is the result.
  if (state_.best_step < 0 && state_.step == config_.max_steps) save_best();
}

}  // namespace medvqa::train
