#include "model/generation.h"

#include <ATen/CPUGeneratorImpl.h>

namespace medvqa::model {

GenerationResult generate(BloomForCausalLM& lm, const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                          const GenerationOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t B = inputs_embeds.size(0), T = inputs_embeds.size(1);
  auto device = inputs_embeds.device();
  GenerationResult result;
  if (options.use_cache)
    result.cache.emplace(lm->transformer->config, B, T + options.max_new_tokens, inputs_embeds.options());
  KvCache* cache = result.cache ? &*result.cache : nullptr;

  auto embeds = inputs_embeds;  // what the next forward consumes: everything without a cache
  auto mask = attention_mask.to(device, torch::kLong);
  auto unfinished = torch::ones({B}, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto generator = at::detail::createCPUGenerator(options.seed);
  std::vector<torch::Tensor> tokens;
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    auto hidden = lm->transformer(embeds, mask, cache);
    // Only the last position's logits are needed to pick the next token.
    auto logits = lm->logits(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32);
    if (options.keep_scores) result.scores.push_back(logits);
    torch::Tensor next;
    if (options.temperature > 0) {
      auto probs = torch::softmax(logits / options.temperature, -1).to(torch::kCPU);
      next = torch::multinomial(probs, 1, false, generator).squeeze(1).to(device);
    } else {
      next = logits.argmax(-1);
    }
    next = next * unfinished + options.pad_token_id * (1 - unfinished);
    tokens.push_back(next);
    if (options.on_token) options.on_token(next);
    if (options.eos_token_id) unfinished = unfinished * (next != *options.eos_token_id).to(torch::kLong);
    if (unfinished.max().item<int64_t>() == 0 || step + 1 == options.max_new_tokens) break;
    auto next_embed = lm->embed(next.unsqueeze(1)).to(inputs_embeds.scalar_type());
    embeds = cache ? next_embed : torch::cat({embeds, next_embed}, 1);
    mask = torch::cat({mask, torch::ones({B, 1}, mask.options())}, 1);
  }
  result.tokens = tokens.empty() ? torch::empty({B, 0}, torch::TensorOptions().dtype(torch::kLong).device(device))
                                 : torch::stack(tokens, 1);
  return result;
}

}  // namespace medvqa::model
