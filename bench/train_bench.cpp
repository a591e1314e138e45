// Training-step throughput: the small preset (every parameter trains) in fp32 and with bf16
// autocast, and a LoRA step at bloom-560m's shape (the paper's recipe: base weights frozen).
#include <torch/torch.h>

#include "bench/bench.h"
#include "model/autocast.h"
#include "model/bloom.h"
#include "model/config.h"
#include "model/lora.h"
#include "model/medvqa_model.h"
#include "train/loss.h"

namespace medvqa::bench {
namespace {

// Forward FLOPs of one sample: 2 × (weights × tokens through them) over every matmul; attention
// scores are left out (under 5% at these sequence lengths).
double forward_flops(model::MedVqaModel& m, int64_t text_tokens, int64_t target_tokens) {
  const auto& c = m->config;
  const double patches = double(c.vision.num_patches()), vision_tokens = patches + 1;
  const double Q = double(c.num_query_tokens);
  double flops = 0;
  for (const auto& p : m->named_parameters()) {
    const std::string& name = p.key();
    if (p.value().dim() < 2 || name.size() < 7 || name.compare(name.size() - 7, 7, ".weight") != 0) continue;
    double tokens = 0;
    if (name.rfind("visual.", 0) == 0) {
      tokens = name.find("patch_embed") != std::string::npos ? patches : vision_tokens;
      if (name.rfind("visual.head.", 0) == 0) tokens = 0;  // the CLIP head is not on the VQA path
    } else if (name.rfind("qformer.", 0) == 0) {
      bool cross_kv = name.find("crossattention") != std::string::npos &&
                      (name.find(".key.") != std::string::npos || name.find(".value.") != std::string::npos);
      tokens = cross_kv ? vision_tokens : Q;
    } else if (name.rfind("language_projection.", 0) == 0) {
      tokens = Q;
    } else if (name.find("word_embeddings") != std::string::npos) {
      tokens = double(target_tokens);  // the logits, at target positions only
    } else if (name.rfind("language_model.", 0) == 0) {
      tokens = Q + double(text_tokens);
    }
    flops += 2.0 * double(p.value().numel()) * tokens;
  }
  return flops;
}

train::Batch random_batch(const model::MedVqaConfig& c, int64_t batch, int64_t T, int64_t targets) {
  train::Batch b;
  b.pixels = torch::randn({batch, 3, c.vision.image_size, c.vision.image_size});
  b.input_ids = torch::randint(5, c.text.vocab_size, {batch, T}, torch::kLong);
  b.attention_mask = torch::ones({batch, T}, torch::kLong);
  b.labels = torch::full({batch, T}, int64_t(-100), torch::kLong);
  b.labels.narrow(1, T - targets - 1, targets).copy_(b.input_ids.narrow(1, T - targets, targets));
  return b;
}

void small_preset(const Context& ctx) {
  auto config = model::MedVqaConfig::from_json(model::read_json_file(ctx.model_dir + "/config.json"));
  const int64_t batch = 32, T = 24, targets = 4;
  for (bool bf16 : {false, true}) {
    if (bf16 && ctx.dtype != torch::kBFloat16) continue;  // bf16 autocast only where bf16 GEMM is fast
    model::MedVqaModel m(config);
    m->train();
    torch::optim::AdamW optimizer(m->parameters(), torch::optim::AdamWOptions(1e-4));
    auto b = random_batch(config, batch, T, targets);
    auto step = [&] {
      optimizer.zero_grad();
      torch::Tensor loss;
      {
        model::AutocastGuard autocast(bf16, torch::kCPU);
        loss = train::answer_token_losses(m, b).mean();
      }
      loss.backward();
      optimizer.step();
    };
    auto t = measure(step, 1, ctx.repeats);
    const double flops = 3.0 * forward_flops(m, T, targets) * double(batch);
    const std::string name = std::string("train.small.") + (bf16 ? "bf16" : "fp32");
    ctx.add(ctx.rate(name + ".mfu", flops / t.min / 1e9, "GFLOP/s", bf16 ? "gemm_bf16" : "gemm_fp32",
                     bf16 ? ctx.base.bf16_gflops : ctx.base.fp32_gflops));
    ctx.add({name + ".samples_per_second", double(batch) / t.min, "samples/s", "", {}});
    ctx.latency(name + ".step", t.min);
  }
}

void lora_step(const Context& ctx) {
  model::BloomConfig c;
  c.vocab_size = 250880;
  c.hidden_size = 1024;
  c.n_layer = 24;
  c.n_head = 16;
  model::BloomForCausalLM lm(c);
  model::LoraConfig lora;
  lora.r = 8;
  lora.lora_alpha = 16;
  model::add_lora(*lm, lora);
  lm->to(ctx.dtype);
  std::vector<torch::Tensor> trainable;
  for (auto& p : lm->named_parameters()) {
    bool is_lora = p.key().find(".lora_") != std::string::npos;
    p.value().set_requires_grad(is_lora);
    if (is_lora) trainable.push_back(p.value());
  }
  torch::optim::AdamW optimizer(trainable, torch::optim::AdamWOptions(1e-4));
  const int64_t batch = 4, T = 64;
  auto ids = torch::randint(5, c.vocab_size, {batch, T}, torch::kLong);
  auto mask = torch::ones({batch, T}, torch::kLong);
  auto step = [&] {
    optimizer.zero_grad();
    auto logits = lm->forward(ids, mask).narrow(1, 0, T - 1).to(torch::kFloat32);
    auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}),
                                                     ids.narrow(1, 1, T - 1).reshape({-1}));
    loss.backward();
    optimizer.step();
  };
  auto t = measure(step, 1, std::min(ctx.repeats, 3));
  int64_t frozen_grads = 0;
  for (auto& p : lm->parameters())
    if (!p.requires_grad() && p.grad().defined()) ++frozen_grads;
  // Forward 2·N·tokens, backward only through activations (no weight gradients) another 2·N·tokens.
  double params = 0;
  for (auto& p : lm->parameters()) params += double(p.numel());
  const double flops = 4.0 * params * double(batch * T);
  const std::string name = "train.lora.bloom-560m." + ctx.dtype_name();
  ctx.add(ctx.rate(name, flops / t.min / 1e9, "GFLOP/s", ctx.gemm_name(), ctx.gemm_rate()));
  ctx.latency(name + ".step", t.min);
  ctx.add({"train.lora.bloom-560m.frozen_weight_grads", double(frozen_grads), "tensors", "", {}});
}

}  // namespace

std::vector<Benchmark> train_benchmarks() { return {{"train.small", small_preset}, {"train.lora", lora_step}}; }

}  // namespace medvqa::bench
