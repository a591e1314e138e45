#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "data/example.h"
#include "image/preprocess.h"
#include "train/config.h"

namespace medvqa::train {

// One training or validation item: an image and either a question with its answer, or (stage 1)
// a caption, which is trained as the answer to the fixed caption prompt.
struct Sample {
  std::string image_path;
  std::string question;  // empty for captions
  std::string target;    // the answer (normalized) or the caption
  data::VqaExample example;
};

// Reads every source of a mixture. A source's weight repeats it (fractional part by a fixed
// subset), so a mixture is one flat list per epoch. Prints what each reader kept and skipped.
std::vector<Sample> load_samples(const std::vector<DataSource>& sources, bool verbose);

// Decoded, resized and centre-cropped images (uint8 [3,S,S]) for every path, decoded once on
// `threads` worker threads: the training loop never waits on JPEG decoding.
class ImageCache {
 public:
  ImageCache(const std::vector<std::string>& paths, const image::PreprocessConfig& config, int threads);
  const torch::Tensor& get(const std::string& path) const;
  size_t size() const { return images_.size(); }

 private:
  std::map<std::string, torch::Tensor> images_;
};

// Normalizes a uint8 [B,3,S,S] batch with the model's mean/std.
torch::Tensor normalize_pixels(const torch::Tensor& uint8_images, const image::PreprocessConfig& config);

}  // namespace medvqa::train
