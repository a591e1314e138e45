#include "train/batch.h"

#include <algorithm>
#include <cmath>

#include "io/error.h"

namespace medvqa::train {

TokenizedSample tokenize_sample(const Sample& sample, const text::Tokenizer& tokenizer, const TextFormat& format,
                                const std::vector<infer::Turn>& history) {
  TokenizedSample t;
  const std::string prompt = sample.question.empty()
                                 ? format.caption_prompt
                                 : infer::conversation_prompt(format.prompt_template, sample.question, history);
  t.prompt = tokenizer.encode(prompt);
  // Over-long prompts keep their end, where the "Answer:" cue the model answers after is.
  if (int64_t(t.prompt.size()) > format.max_prompt_tokens)
    t.prompt.erase(t.prompt.begin(), t.prompt.end() - format.max_prompt_tokens);
  t.target = tokenizer.encode(" " + sample.target);
  if (int64_t(t.target.size()) > format.max_target_tokens - 1) t.target.resize(size_t(format.max_target_tokens - 1));
  t.target.push_back(format.eos_id);
  return t;
}

torch::Tensor augment_image(const torch::Tensor& image, const Augmentation& a, std::mt19937_64& rng) {
  auto x = image.to(torch::kFloat32).unsqueeze(0);
  const int64_t S = x.size(2);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (a.crop_scale_min < 1.0) {
    double scale = a.crop_scale_min + (1.0 - a.crop_scale_min) * unit(rng);
    double ratio = std::exp(std::log(3.0 / 4.0) + (std::log(4.0 / 3.0) - std::log(3.0 / 4.0)) * unit(rng));
    int64_t w = std::clamp<int64_t>(std::llround(S * std::sqrt(scale * ratio)), 1, S);
    int64_t h = std::clamp<int64_t>(std::llround(S * std::sqrt(scale / ratio)), 1, S);
    int64_t top = int64_t(unit(rng) * double(S - h + 1)), left = int64_t(unit(rng) * double(S - w + 1));
    top = std::min(top, S - h);
    left = std::min(left, S - w);
    x = torch::nn::functional::interpolate(
        x.narrow(2, top, h).narrow(3, left, w),
        torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{S, S}).mode(torch::kBilinear).align_corners(false));
  }
  if (unit(rng) < a.flip_probability) x = x.flip({3});
  if (a.color_jitter > 0) {
    double brightness = 1.0 + a.color_jitter * (2 * unit(rng) - 1);
    double contrast = 1.0 + a.color_jitter * (2 * unit(rng) - 1);
    auto mean = x.mean();
    x = ((x * brightness - mean) * contrast + mean);
  }
  return x.clamp(0, 255).squeeze(0);
}

Batch make_batch(const std::vector<const Sample*>& samples, const std::vector<const TokenizedSample*>& tokens,
                 const ImageCache& images, const image::PreprocessConfig& preprocess, int64_t pad_id,
                 const Augmentation& augmentation, const std::vector<uint64_t>* augmentation_seeds) {
  const int64_t B = int64_t(samples.size());
  if (augmentation_seeds != nullptr && augmentation_seeds->size() != samples.size())
    throw Error("make_batch: one augmentation seed per sample is needed");
  std::vector<torch::Tensor> pixels;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& img = images.get(samples[i]->image_path);
    if (augmentation_seeds != nullptr && augmentation.enabled()) {
      std::mt19937_64 rng((*augmentation_seeds)[i]);
      pixels.push_back(augment_image(img, augmentation, rng));
    } else {
      pixels.push_back(img.to(torch::kFloat32));
    }
  }
  int64_t T = 0;
  for (const auto* t : tokens) T = std::max<int64_t>(T, int64_t(t->prompt.size() + t->target.size()));
  Batch b;
  b.pixels = normalize_pixels(torch::stack(pixels), preprocess);
  b.input_ids = torch::full({B, T}, pad_id, torch::kLong);
  b.attention_mask = torch::zeros({B, T}, torch::kLong);
  b.labels = torch::full({B, T}, int64_t(-100), torch::kLong);
  auto ids = b.input_ids.accessor<int64_t, 2>();
  auto mask = b.attention_mask.accessor<int64_t, 2>();
  auto labels = b.labels.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& t = *tokens[size_t(i)];
    int64_t p = int64_t(t.prompt.size()), n = p + int64_t(t.target.size());
    for (int64_t j = 0; j < n; ++j) {
      ids[i][j] = j < p ? t.prompt[size_t(j)] : t.target[size_t(j - p)];
      mask[i][j] = 1;
    }
    for (int64_t j = p - 1; j + 1 < n; ++j) labels[i][j] = ids[i][j + 1];
  }
  return b;
}

}  // namespace medvqa::train
