// Inference benchmarks at real shapes with random weights: BLOOM decode and prefill, the
// BiomedCLIP ViT-B/16, the BLIP-2-size Q-Former, and whole answers.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "bench/bench.h"

#include "image/image.h"
#include "infer/answerer.h"
#include "model/bloom.h"
#include "model/generation.h"
#include "model/medvqa_model.h"
#include "model/pack_for_inference.h"
#include "model/qformer.h"
#include "model/vit.h"

namespace medvqa::bench {
namespace {

model::BloomConfig bloom_shape(int64_t hidden) {
  model::BloomConfig c;
  c.vocab_size = 250880;
  c.hidden_size = hidden;
  c.n_layer = 24;
  c.n_head = 16;
  return c;
}

// bloom-560m and bloomz-1b7: the paper's 7b1 has the same layout, 4096 wide and 30 layers deep.
const std::vector<std::pair<std::string, int64_t>> kBloomShapes = {{"bloom-560m", 1024}, {"bloomz-1b7", 2048}};

// Multiply-adds of the transformer blocks' linear layers per token.
double block_linear_params(const model::BloomConfig& c) {
  return double(c.n_layer) * 12.0 * double(c.hidden_size) * double(c.hidden_size);
}

void prefill(model::BloomForCausalLM& lm, const torch::Tensor& ids) {
  model::GenerationOptions g;
  g.max_new_tokens = 1;
  (void)model::generate(lm, lm->embed(ids), torch::ones_like(ids), g);
}

// Seconds of each decoding step after a prompt, as generate() runs them: one token through the
// KV-cached blocks, its logits, the argmax over them in fp32 (libtorch 1.13 takes 0.9 ms for it
// on 250 880 bf16 logits, 0.2 in fp32). `between` runs untimed before each step.
std::vector<double> decode_steps(model::BloomForCausalLM& lm, const torch::Tensor& prompt, int64_t steps,
                                 const std::function<void()>& between = {}) {
  const auto& c = lm->transformer->config;
  const int64_t T = prompt.size(1);
  model::KvCache cache(c, 1, T + steps + 1, lm->transformer->word_embeddings->weight.options());
  auto mask = torch::ones({1, T}, torch::kLong);
  auto hidden = lm->transformer(lm->embed(prompt), mask, &cache);
  auto next = lm->logits(hidden.select(1, T - 1)).to(torch::kFloat32).argmax(-1);
  std::vector<double> seconds;
  for (int64_t s = 0; s < steps; ++s) {
    if (between) between();
    auto start = std::chrono::steady_clock::now();
    mask = torch::ones({1, T + s + 1}, torch::kLong);
    hidden = lm->transformer(lm->embed(next.unsqueeze(1)), mask, &cache);
    next = lm->logits(hidden.select(1, 0)).to(torch::kFloat32).argmax(-1);
    (void)next.item<int64_t>();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return seconds;
}

// The decode and prefill rows are named by how the weights are stored. bf16, int8 and int4 compute in
// the dtype of the run (bf16 where bf16 GEMM is the faster, see Context::dtype) with their weights
// packed (PackedWeight: a bf16 model's bf16 weights as panels for the AVX512-BF16 GEMM where the
// CPU has it, int8 and int4 rows for the decode kernels, long prompts through GEMM in the run's dtype).
struct WeightVariant {
  std::string name;
  torch::Dtype dtype;
  model::WeightFormat packing;
};

std::vector<WeightVariant> weight_variants(const Context& ctx) {
  return {{"fp32", torch::kFloat32, model::WeightFormat::kFloat32},
          {"bf16", ctx.dtype, model::WeightFormat::kBFloat16},
          {"int8", ctx.dtype, model::WeightFormat::kInt8},
          {"int4", ctx.dtype, model::WeightFormat::kInt4}};
}

void bloom_variant(const Context& ctx, const std::string& shape, int64_t hidden, const WeightVariant& variant,
                   const ReadStream& stream) {
  const std::string suffix = shape + "." + variant.name;
  if (!ctx.wanted("decode." + suffix) && !ctx.wanted("prefill." + suffix)) return;
  auto c = bloom_shape(hidden);
  torch::manual_seed(0);
  model::BloomForCausalLM lm(c);
  lm->to(variant.dtype);
  model::pack_for_inference(*lm, variant.packing);
  lm->eval();
  // Decode: every new token reads every weight once (the tied embedding for the logits).
  auto prompt = torch::randint(5, c.vocab_size, {1, 16}, torch::kLong);
  // The read bandwidth is measured between the steps (the best pass), not only at the start of
  // the suite: on a shared host it drifted between 30 and 57 GB/s within minutes.
  double read_gbs = 0;
  auto steps = decode_steps(lm, prompt, 4 + 4 * ctx.repeats, [&] { read_gbs = std::max(read_gbs, stream.gbs()); });
  steps.erase(steps.begin(), steps.begin() + 4);  // warm-up
  const double per_token = *std::min_element(steps.begin(), steps.end());
  const double bytes = double(lm->weight_bytes());
  std::string name = "decode." + suffix;
  ctx.add(ctx.rate(name, bytes / per_token / 1e9, "GB/s", "read_bandwidth.between_steps", read_gbs));
  ctx.add({name + ".tokens_per_second", 1.0 / per_token, "tokens/s", "", {}});
  ctx.latency(name, per_token);
  ctx.profile(name, [&] { decode_steps(lm, prompt, 4); });
  // Prefill: 128 prompt tokens through every block, logits for the last position only.
  const int64_t T = 128;
  auto long_prompt = torch::randint(5, c.vocab_size, {1, T}, torch::kLong);
  auto pre = measure([&] { prefill(lm, long_prompt); }, 1, ctx.repeats);
  double flops = 2.0 * double(T) * block_linear_params(c) + 4.0 * double(T * T) * double(c.hidden_size * c.n_layer) +
                 2.0 * double(c.vocab_size * c.hidden_size);
  name = "prefill." + suffix;
  const bool bf16 = variant.dtype == torch::kBFloat16;
  ctx.add(ctx.rate(name, flops / pre.min / 1e9, "GFLOP/s", bf16 ? "gemm_bf16" : "gemm_fp32",
                   bf16 ? ctx.base.bf16_gflops : ctx.base.fp32_gflops));
  ctx.add({name + ".tokens_per_second", double(T) / pre.min, "tokens/s", "", {}});
  ctx.profile(name, [&] { prefill(lm, long_prompt); });
}

void bloom(const Context& ctx) {
  torch::NoGradGuard no_grad;
  const ReadStream stream;  // 512 MiB, filled once for all the decode rows
  for (const auto& [shape, hidden] : kBloomShapes)
    for (const auto& variant : weight_variants(ctx)) bloom_variant(ctx, shape, hidden, variant, stream);
}

// FLOPs of one image through the ViT trunk: 2 per multiply-add of the patch projection, every
// block's linears over all tokens, and attention's two N×N products. ViT-B/16 at 224 px: 17.56
// GMACs (timm's model card says 17.6 GMACs) = 35.1 GFLOP.
double vit_flops(const model::VisionConfig& c) {
  const double patches = double(c.num_patches()), N = patches + 1, D = double(c.width);
  const double hidden = D * c.mlp_ratio, patch_in = 3.0 * double(c.patch_size * c.patch_size);
  const double block = N * (4.0 * D * D + 2.0 * D * hidden) + 2.0 * N * N * D;
  return 2.0 * (patches * patch_in * D + double(c.depth) * block);
}

// The image side's weights as model::pack_for_inference stores them for answering.
void pack_as_for_inference(const Context& ctx, torch::nn::Module& module) {
  if (model::bf16_panels_for(ctx.dtype, torch::kCPU)) model::pack_linears(module, model::WeightFormat::kBFloat16);
}

void vit(const Context& ctx) {
  torch::NoGradGuard no_grad;
  model::VisionConfig c;  // ViT-B/16 at 224 px, BiomedCLIP's trunk
  model::OpenClipVision v(c);
  v->to(ctx.dtype);
  v->eval();
  pack_as_for_inference(ctx, *v);
  for (int64_t batch : {1, 8}) {
    auto pixels = torch::randn({batch, 3, c.image_size, c.image_size}).to(ctx.dtype);
    auto t = measure([&] { (void)v->forward_tokens(pixels); }, 1, ctx.repeats);
    std::string name = "vit.b16-224.batch" + std::to_string(batch);
    ctx.add(ctx.rate(name, vit_flops(c) * double(batch) / t.min / 1e9, "GFLOP/s", ctx.gemm_name(), ctx.gemm_rate()));
    ctx.latency(name, t.min);
    ctx.profile(name, [&] { (void)v->forward_tokens(pixels); });
  }
}

void qformer(const Context& ctx) {
  torch::NoGradGuard no_grad;
  model::QFormerConfig c;  // BLIP-2's Q-Former over BiomedCLIP's 768-wide tokens
  c.encoder_hidden_size = 768;
  model::QFormerModel q(c);
  q->to(ctx.dtype);
  q->eval();
  pack_as_for_inference(ctx, *q);
  const int64_t Q = 32, S = 197, H = c.hidden_size, I = c.intermediate_size, L = c.num_hidden_layers;
  auto queries = torch::randn({1, Q, H}).to(ctx.dtype);
  auto image = torch::randn({1, S, c.encoder_hidden_size}).to(ctx.dtype);
  auto t = measure([&] { (void)q->forward(queries, image); }, 1, ctx.repeats);
  double self = double(L) * (2.0 * Q * (4.0 * H * H + 2.0 * H * I) + 4.0 * Q * Q * H);
  double cross = double(L / c.cross_attention_frequency) *
                 (2.0 * Q * 2.0 * H * H + 2.0 * S * 2.0 * double(c.encoder_hidden_size) * H + 4.0 * Q * S * H);
  ctx.add(ctx.rate("qformer.blip2-32q", (self + cross) / t.min / 1e9, "GFLOP/s", ctx.gemm_name(), ctx.gemm_rate()));
  ctx.latency("qformer.blip2-32q", t.min);
  ctx.profile("qformer.blip2-32q", [&] { (void)q->forward(queries, image); });
}

void answer(const Context& ctx) {
  // The shipped small model, as `medvqa ask --dtype <the run's dtype>` runs it.
  auto answerer = infer::Answerer::load(ctx.model_dir, ctx.dtype);
  auto image = noise_image(256);
  infer::AnswerOptions first;
  first.max_new_tokens = 1;
  ctx.latency("answer.small.ttft", measure([&] { answerer.answer(image, "Is there a fracture?", first); }, 1, ctx.repeats).min);
  ctx.latency("answer.small.total", measure([&] { answerer.answer(image, "Which organ is abnormal?"); }, 1, ctx.repeats).min);
  // Answers/s for batches of the serving benchmark's question mix, in process: what dynamic
  // batching can gain at most, before any HTTP work.
  double single = 0;
  for (int batch : {1, 8}) {
    const char* mix[] = {"Is there a fracture?", "Which organ is abnormal?", "Is the lung normal?"};
    std::vector<image::Image> images(size_t(batch), image);
    std::vector<std::string> questions;
    for (int i = 0; i < batch; ++i) questions.push_back(mix[i % 3]);
    const double rate = batch / measure([&] { answerer.answer(images, questions); }, 1, ctx.repeats).min;
    if (batch == 1) single = rate;
    ctx.add(ctx.rate("answer.small.batch" + std::to_string(batch), rate, "answers/s", "answer.small.batch1", single));
  }

  // The paper's composition with bloomz-1b7 standing in for the 7B decoder, with the language
  // model's weights stored in the run's dtype, as int8 and as int4.
  torch::NoGradGuard no_grad;
  model::MedVqaConfig c;
  c.qformer.encoder_hidden_size = c.vision.width;
  c.text = bloom_shape(2048);
  c.num_query_tokens = 32;
  for (const auto& variant : weight_variants(ctx)) {
    if (variant.dtype != ctx.dtype) continue;
    const std::string name = "answer.paper-1b7." + variant.name;
    if (!ctx.wanted(name)) continue;
    model::MedVqaModel m(c);
    m->to(ctx.dtype);
    model::pack_for_inference(*m, variant.packing);
    m->eval();
    auto pixels = torch::randn({1, 3, c.vision.image_size, c.vision.image_size}).to(ctx.dtype);
    auto ids = torch::randint(5, c.text.vocab_size, {1, 12}, torch::kLong);
    auto run = [&](int64_t tokens) {
      model::GenerationOptions g;
      g.max_new_tokens = tokens;
      g.eos_token_id = std::nullopt;
      (void)m->generate(pixels, ids, torch::ones_like(ids), g);
    };
    ctx.latency(name + ".ttft", measure([&] { run(1); }, 1, std::min(ctx.repeats, 3)).min);
    ctx.latency(name + ".total8", measure([&] { run(8); }, 1, std::min(ctx.repeats, 3)).min);
  }
}

}  // namespace

std::vector<Benchmark> model_benchmarks() {
  return {{"decode", bloom}, {"vit", vit}, {"qformer", qformer}, {"answer", answer}};
}

}  // namespace medvqa::bench
