#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "infer/conversation.h"
#include "text/tokenizer.h"
#include "train/samples.h"

namespace medvqa::train {

// A sample's prompt and target as token ids, computed once before training.
struct TokenizedSample {
  std::vector<int64_t> prompt;  // ends with the template's "Answer:" (or the caption prompt)
  std::vector<int64_t> target;  // " answer" + EOS
};

struct TextFormat {
  std::string prompt_template;  // contains {question}
  std::string caption_prompt;
  int64_t max_prompt_tokens;
  int64_t max_target_tokens;
  int64_t eos_id;
};

// A question's prompt is infer::conversation_prompt's, after `history` when given.
TokenizedSample tokenize_sample(const Sample& sample, const text::Tokenizer& tokenizer, const TextFormat& format,
                                const std::vector<infer::Turn>& history = {});

// A training batch, right-padded: [prompt ; target ; pad]. labels[b,i] is the token that
// position i must predict (ids[b,i+1]) where that token belongs to the target, else -100: the
// loss covers the answer tokens only.
struct Batch {
  torch::Tensor pixels;          // [B,3,S,S] float32, normalized
  torch::Tensor input_ids;       // [B,T]
  torch::Tensor attention_mask;  // [B,T]
  torch::Tensor labels;          // [B,T]
  Batch to(torch::Device device) const {
    return {pixels.to(device), input_ids.to(device), attention_mask.to(device), labels.to(device)};
  }
};

struct Augmentation {
  double crop_scale_min = 1.0;  // random resized crop keeping this fraction of the area at least
  double flip_probability = 0.0;
  double color_jitter = 0.0;    // brightness and contrast factors drawn from [1-j, 1+j]
  bool enabled() const { return crop_scale_min < 1.0 || flip_probability > 0 || color_jitter > 0; }
};

// Random resized crop + flip + brightness/contrast of one uint8 [3,S,S] image, as float [3,S,S]
// in 0..255.
torch::Tensor augment_image(const torch::Tensor& image, const Augmentation& augmentation, std::mt19937_64& rng);

// Assembles a batch. Sample i is augmented with a generator seeded by augmentation_seeds[i]
// (pass nullptr for no augmentation, as at evaluation): a sample's crop does not depend on which
// batch or rank it lands in, so data-parallel runs see the same images as one process.
Batch make_batch(const std::vector<const Sample*>& samples, const std::vector<const TokenizedSample*>& tokens,
                 const ImageCache& images, const image::PreprocessConfig& preprocess, int64_t pad_id,
                 const Augmentation& augmentation, const std::vector<uint64_t>* augmentation_seeds);

}  // namespace medvqa::train
