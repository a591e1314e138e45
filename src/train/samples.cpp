#include "train/samples.h"

#include <atomic>
#include <cmath>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "data/normalize.h"
#include "data/readers.h"
#include "data/split.h"
#include "image/image.h"
#include "io/error.h"

namespace medvqa::train {
namespace {

bool is_caption_format(const std::string& format) { return format == "medpix" || format == "pmc-oa"; }

std::vector<Sample> read_source(const DataSource& s, bool verbose) {
  data::ReadOptions options;
  options.languages = s.languages;
  data::ReadReport report;
  std::vector<Sample> out;
  if (is_caption_format(s.format)) {
    for (auto& c : data::read_captions(s.format, s.path, s.images, options, &report)) {
      Sample sample;
      sample.image_path = c.image_path;
      sample.target = c.caption;
      sample.example.id = c.id;
      sample.example.image_path = c.image_path;
      sample.example.answer = c.caption;
      out.push_back(std::move(sample));
    }
  } else {
    auto examples = data::read_vqa(s.format, s.path, s.images, options, &report);
    if (s.holdout_fraction > 0) {
      auto split = data::split_by_image(examples, s.holdout_fraction, s.holdout_seed);
      examples = s.holdout_side == "val" ? split.val : split.train;
    }
    for (auto& e : examples) {
      Sample sample;
      sample.image_path = e.image_path;
      sample.question = e.question;
      sample.target = data::normalize_answer(e.answer);
      sample.example = std::move(e);
      out.push_back(std::move(sample));
    }
  }
  if (s.limit > 0 && int64_t(out.size()) > s.limit) out.resize(size_t(s.limit));
  if (verbose) {
    std::cerr << s.format << " " << s.path << ": " << out.size() << " examples";
    if (!report.skipped.empty()) std::cerr << ", " << report.skipped.size() << " rows skipped (first: " << report.skipped.front() << ")";
    std::cerr << "\n";
  }
  return out;
}

}  // namespace

std::vector<Sample> load_samples(const std::vector<DataSource>& sources, bool verbose) {
  std::vector<Sample> all;
  for (const auto& s : sources) {
    auto samples = read_source(s, verbose);
    size_t whole = size_t(std::floor(s.weight));
    for (size_t r = 0; r < whole; ++r) all.insert(all.end(), samples.begin(), samples.end());
    size_t extra = size_t(std::llround((s.weight - double(whole)) * double(samples.size())));
    all.insert(all.end(), samples.begin(), samples.begin() + std::min(extra, samples.size()));
  }
  return all;
}

ImageCache::ImageCache(const std::vector<std::string>& paths, const image::PreprocessConfig& config, int threads) {
  const std::set<std::string> distinct(paths.begin(), paths.end());
  const std::vector<std::string> unique(distinct.begin(), distinct.end());
  std::vector<torch::Tensor> decoded(unique.size());
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::string error;
  auto work = [&]() {
    for (size_t i = next++; i < unique.size(); i = next++) {
      try {
        auto rgb = image::to_rgb(image::center_crop(
            image::resize_shortest_side(image::to_8bit(image::load_image(unique[i])), config.image_size),
            config.image_size));
        decoded[i] = torch::from_blob(rgb.pixels.data(), {rgb.height, rgb.width, 3}, torch::kUInt8)
                         .permute({2, 0, 1})
                         .contiguous();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.empty()) error = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (!error.empty()) throw Error(error);
  for (size_t i = 0; i < unique.size(); ++i) images_.emplace(unique[i], decoded[i]);
}

const torch::Tensor& ImageCache::get(const std::string& path) const {
  auto it = images_.find(path);
  if (it == images_.end()) throw Error("image not in the cache: " + path);
  return it->second;
}

torch::Tensor normalize_pixels(const torch::Tensor& images, const image::PreprocessConfig& config) {
  auto mean = torch::tensor(std::vector<float>(config.mean.begin(), config.mean.end())).view({1, 3, 1, 1});
  auto std = torch::tensor(std::vector<float>(config.std.begin(), config.std.end())).view({1, 3, 1, 1});
  return (images.to(torch::kFloat32) / 255.0 - mean) / std;
}

}  // namespace medvqa::train
