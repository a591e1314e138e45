#include "train/contrastive_pretraining.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <numeric>
#include <set>

#include "io/error.h"
#include "model/autocast.h"
#include "model/clip.h"
#include "model/config.h"
#include "model/init.h"
#include "model/pretrained.h"
#include "text/tokenizer.h"
#include "train/batch.h"
#include "train/epoch_order.h"

namespace medvqa::train {
namespace fs = std::filesystem;

namespace {

// Share of rows whose matching column (the diagonal) ranks within the top k of `similarity`.
double recall_at(const torch::Tensor& similarity, int64_t k) {
  auto diagonal = similarity.diagonal().unsqueeze(1);
  auto rank = (similarity > diagonal).sum(1);
  return (rank < k).to(torch::kFloat64).mean().item<double>();
}

// Multinomial logistic regression on fixed features, fitted by full-batch Adam; returns the
// accuracy on the test features. Labels of the test side unseen in training count as errors.
double linear_probe(const torch::Tensor& train_x, const std::vector<std::string>& train_y,
                    const torch::Tensor& test_x, const std::vector<std::string>& test_y) {
  std::map<std::string, int64_t> classes;
  for (const auto& y : train_y) classes.emplace(y, int64_t(classes.size()));
  std::vector<int64_t> labels;
  for (const auto& y : train_y) labels.push_back(classes.at(y));
  torch::AutoGradMode grad(true);  // evaluation runs without gradients; the probe needs them
  // Nor under autocast: it caches the bf16 copy of a leaf tensor, so the probe's updates to its
  // weights would never reach the products.
  const bool autocast = model::autocast_enabled(c10::DeviceType::CPU);
  model::set_autocast(c10::DeviceType::CPU, false, at::kBFloat16);
  auto x = train_x.to(torch::kFloat32).detach(), t = test_x.to(torch::kFloat32).detach();
  auto mean = x.mean(0, true), std = x.std(0, true, true) + 1e-6;
  x = (x - mean) / std;
  t = (t - mean) / std;
  auto weight = torch::zeros({x.size(1), int64_t(classes.size())}, torch::requires_grad());
  auto bias = torch::zeros({int64_t(classes.size())}, torch::requires_grad());
  torch::optim::Adam adam({weight, bias}, torch::optim::AdamOptions(0.05));
  auto target = torch::tensor(labels, torch::kLong);
  for (int i = 0; i < 200; ++i) {
    adam.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(bias, x, weight), target) +
                1e-3 * weight.pow(2).sum();
    loss.backward();
    adam.step();
  }
  auto predicted = torch::addmm(bias, t, weight).argmax(1);
  model::set_autocast(c10::DeviceType::CPU, autocast, at::kBFloat16);
  auto p = predicted.accessor<int64_t, 1>();
  int64_t correct = 0;
  for (size_t i = 0; i < test_y.size(); ++i) {
    auto c = classes.find(test_y[i]);
    correct += c != classes.end() && c->second == p[int64_t(i)];
  }
  return test_y.empty() ? 0.0 : double(correct) / double(test_y.size());
}

class ContrastiveObjective : public PretrainingObjective {
 public:
  ContrastiveObjective(const TrainConfig& config, bool verbose)
      : config_(config), tokenizer_(text::Tokenizer::from_file(config.tokenizer)) {
    if (config.model_config.empty())
      throw Error("training config '" + config.name + "': a contrastive stage starts from model_config (its "
                  "vision_config is the tower trained) and a tokenizer");
    auto medvqa = model::MedVqaConfig::from_json(model::read_json_file(config.model_config));
    model::BloomConfig text = medvqa.text;
    if (config.text_tower) text = model::BloomConfig::from_json(*config.text_tower);
    if (tokenizer_.vocab_size() > text.vocab_size)
      throw Error("training config '" + config.name + "': the tokenizer has more tokens than text_tower's vocab_size");
    eos_ = text.eos_token_id;
    pad_ = text.pad_token_id;
    model_ = model::ClipModel(medvqa.vision, text);
    model::init_weights(*model_, 0.02, config.init_seed);
    {
      torch::NoGradGuard no_grad;
      model_->logit_scale.fill_(std::log(1 / 0.07));
    }
    device_ = model::require_usable(config.device);
    model_->to(device_);
    preprocess_.image_size = int(medvqa.vision.image_size);
    preprocess_.mean = medvqa.vision.mean;
    preprocess_.std = medvqa.vision.std;
    augmentation_ = {config.crop_scale_min, config.flip_probability, config.color_jitter};

    train_ = group_by_image(load_samples(config.train, verbose));
    validation_ = group_by_image(load_samples(config.validation, verbose));
    order_ = std::make_unique<EpochOrder>(train_.size(), config.seed);
    if (train_.size() < 2) throw Error("training config '" + config.name + "': a contrastive stage needs 2+ images");
    if (config.batch_size > int64_t(train_.size()))
      throw Error("training config '" + config.name + "': batch_size " + std::to_string(config.batch_size) +
                  " exceeds the " + std::to_string(train_.size()) + " training images");
    std::vector<std::string> paths;
    for (const auto* set : {&train_, &validation_})
      for (const auto& i : *set) paths.push_back(i.image_path);
    images_ = std::make_unique<ImageCache>(paths, preprocess_, config.loader_threads);
    if (verbose)
      std::cerr << "contrastive pre-training on " << train_.size() << " images, validating on "
                << validation_.size() << "\n";
  }

  torch::nn::Module& module() override { return *model_; }

  torch::Tensor loss(int64_t step) override {
    const int64_t B = config_.batch_size, N = int64_t(train_.size());
    std::vector<const ImageTexts*> batch;
    std::vector<std::string> texts;
    std::vector<torch::Tensor> pixels;
    for (int64_t k = 0; k < B; ++k) {
      const int64_t position = step * B + k, epoch = position / N;
      const ImageTexts& image = train_[size_t(order_->of(epoch)[size_t(position % N)])];
      std::mt19937_64 rng(mix_seed(mix_seed(config_.seed, uint64_t(step)), uint64_t(k)));
      batch.push_back(&image);
      texts.push_back(draw_text(image, config_.max_statements, rng));
      const auto& img = images_->get(image.image_path);
      pixels.push_back(augmentation_.enabled() ? augment_image(img, augmentation_, rng) : img.to(torch::kFloat32));
    }
    auto [ids, mask] = encode(texts);
    auto image_embeds = model_->encode_image(normalize_pixels(torch::stack(pixels), preprocess_).to(device_));
    auto text_embeds = model_->encode_text(ids.to(device_), mask.to(device_));
    auto logits = model_->logit_scale.clamp_max(std::log(100.0)).exp() * image_embeds.matmul(text_embeds.t());
    // Another row with the same image or the same text is a match too, not a negative.
    auto match = torch::zeros({B, B});
    auto m = match.accessor<float, 2>();
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < B; ++j)
        if (batch[size_t(i)] == batch[size_t(j)] || texts[size_t(i)] == texts[size_t(j)]) m[i][j] = 1.0f;
    auto targets = (match / match.sum(1, true)).to(device_);
    auto cross_entropy = [&](const torch::Tensor& l) { return -(targets * torch::log_softmax(l, 1)).sum(1).mean(); };
    return 0.5 * (cross_entropy(logits) + cross_entropy(logits.t()));
  }

  nlohmann::json evaluate() override {
    nlohmann::json e;
    e["logit_scale"] = model_->logit_scale.exp().item<double>();
    auto train_features = embed_images(train_);
    std::vector<double> parts;
    if (validation_.size() >= 2) {
      auto features = embed_images(validation_);
      std::vector<std::string> texts;
      for (const auto& image : validation_) {
        std::mt19937_64 rng(0);
        texts.push_back(draw_text(image, config_.max_statements, rng));
      }
      auto [ids, mask] = encode(texts);
      std::vector<torch::Tensor> chunks;
      for (int64_t i = 0; i < ids.size(0); i += 256) {
        const int64_t n = std::min<int64_t>(256, ids.size(0) - i);
        chunks.push_back(model_->encode_text(ids.narrow(0, i, n).to(device_), mask.narrow(0, i, n).to(device_)).cpu());
      }
      auto similarity = features.matmul(torch::cat(chunks).t());
      e["image_to_text_recall_at_1"] = recall_at(similarity, 1);
      e["image_to_text_recall_at_5"] = recall_at(similarity, 5);
      e["text_to_image_recall_at_1"] = recall_at(similarity.t(), 1);
      e["text_to_image_recall_at_5"] = recall_at(similarity.t(), 5);
      e["validation_images"] = validation_.size();
      parts = {e["image_to_text_recall_at_1"].get<double>(), e["image_to_text_recall_at_5"].get<double>()};
      for (const auto& key : attribute_keys()) {
        std::vector<int64_t> train_rows, test_rows;
        std::vector<std::string> train_y, test_y;
        collect(train_, key, train_rows, train_y);
        collect(validation_, key, test_rows, test_y);
        double accuracy = linear_probe(train_features.index({torch::tensor(train_rows)}), train_y,
                                       features.index({torch::tensor(test_rows)}), test_y);
        e["probe_" + key] = accuracy;
        e["probe_" + key + "_n"] = test_y.size();
        parts.push_back(accuracy);
      }
    }
    e["metric"] = parts.empty() ? 0.0 : std::accumulate(parts.begin(), parts.end(), 0.0) / double(parts.size());
    return e;
  }

  void save(const std::string& dir) override {
    model::save_open_clip(model_, dir);
    tokenizer_.save((fs::path(dir) / "tokenizer.json").string());
  }

  void load(const std::string& dir) override {
    auto loaded = model::load_open_clip(dir);
    copy_parameters(*loaded, *model_);
  }

 private:

  // Right-padded ids ending in EOS, at most max_target_tokens each.
  std::pair<torch::Tensor, torch::Tensor> encode(const std::vector<std::string>& texts) const {
    std::vector<std::vector<int64_t>> rows;
    int64_t T = 1;
    for (const auto& t : texts) {
      auto ids = tokenizer_.encode(t);
      if (int64_t(ids.size()) > config_.max_target_tokens - 1) ids.resize(size_t(config_.max_target_tokens - 1));
      ids.push_back(eos_);
      T = std::max<int64_t>(T, int64_t(ids.size()));
      rows.push_back(std::move(ids));
    }
    auto ids = torch::full({int64_t(rows.size()), T}, pad_, torch::kLong);
    auto mask = torch::zeros({int64_t(rows.size()), T}, torch::kLong);
    for (size_t i = 0; i < rows.size(); ++i) {
      ids[int64_t(i)].narrow(0, 0, int64_t(rows[i].size())).copy_(torch::tensor(rows[i], torch::kLong));
      mask[int64_t(i)].narrow(0, 0, int64_t(rows[i].size())).fill_(1);
    }
    return {ids, mask};
  }

  torch::Tensor embed_images(const std::vector<ImageTexts>& set) {
    std::vector<torch::Tensor> chunks;
    for (size_t i = 0; i < set.size(); i += 128) {
      std::vector<torch::Tensor> pixels;
      for (size_t j = i; j < std::min(set.size(), i + 128); ++j) pixels.push_back(images_->get(set[j].image_path));
      chunks.push_back(model_->encode_image(normalize_pixels(torch::stack(pixels), preprocess_).to(device_)).cpu());
    }
    return torch::cat(chunks);
  }

  // Attributes that both the training and the validation images carry.
  std::vector<std::string> attribute_keys() const {
    std::set<std::string> train_keys, both;
    for (const auto& i : train_)
      for (const auto& a : i.attributes) train_keys.insert(a.first);
    for (const auto& i : validation_)
      for (const auto& a : i.attributes)
        if (train_keys.count(a.first) && a.first != "organs") both.insert(a.first);
    return {both.begin(), both.end()};
  }

  static void collect(const std::vector<ImageTexts>& set, const std::string& key, std::vector<int64_t>& rows,
                      std::vector<std::string>& labels) {
    for (size_t i = 0; i < set.size(); ++i)
      for (const auto& a : set[i].attributes)
        if (a.first == key) {
          rows.push_back(int64_t(i));
          labels.push_back(a.second);
        }
  }

  TrainConfig config_;
  text::Tokenizer tokenizer_;
  int64_t eos_ = 2, pad_ = 3;
  model::ClipModel model_{nullptr};
  torch::Device device_ = torch::kCPU;
  image::PreprocessConfig preprocess_;
  Augmentation augmentation_;
  std::vector<ImageTexts> train_, validation_;
  std::unique_ptr<ImageCache> images_;
  std::unique_ptr<EpochOrder> order_;
};

}  // namespace

std::unique_ptr<PretrainingObjective> make_contrastive_objective(const TrainConfig& config, bool verbose) {
  return std::make_unique<ContrastiveObjective>(config, verbose);
}

}  // namespace medvqa::train
