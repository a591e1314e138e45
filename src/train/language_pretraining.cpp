#include "train/language_pretraining.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <random>

#include "io/error.h"
#include "io/fnv1a.h"
#include "model/bloom.h"
#include "model/config.h"
#include "model/init.h"
#include "model/pretrained.h"
#include "text/corpus.h"
#include "text/tokenizer.h"
#include "train/epoch_order.h"
#include "train/samples.h"

namespace medvqa::train {
namespace fs = std::filesystem;

std::vector<std::string> read_documents(const std::vector<DataSource>& sources, const std::string& prompt_template,
                                        bool verbose) {
  std::vector<std::string> documents;
  for (const auto& source : sources) {
    std::vector<std::string> docs;
    if (source.format == "text") {
      docs = text::corpus_from_file(source.path);
      if (source.limit > 0 && int64_t(docs.size()) > source.limit) docs.resize(size_t(source.limit));
      if (verbose) std::cerr << "text " << source.path << ": " << docs.size() << " documents\n";
    } else {
      DataSource once = source;
      once.weight = 1.0;
      for (const auto& s : load_samples({once}, verbose)) {
        if (s.question.empty()) {
          docs.push_back(s.target);
          continue;
        }
        std::string prompt = prompt_template;
        prompt.replace(prompt.find("{question}"), std::string("{question}").size(), s.question);
        docs.push_back(prompt + " " + s.target);
      }
    }
    const size_t whole = size_t(std::floor(source.weight));
    for (size_t r = 0; r < whole; ++r) documents.insert(documents.end(), docs.begin(), docs.end());
    const size_t extra = size_t(std::llround((source.weight - double(whole)) * double(docs.size())));
    documents.insert(documents.end(), docs.begin(), docs.begin() + std::min(extra, docs.size()));
  }
  return documents;
}

namespace {

class LanguageObjective : public PretrainingObjective {
 public:
  LanguageObjective(const TrainConfig& config, bool verbose)
      : config_(config), tokenizer_(text::Tokenizer::from_file(config.tokenizer)) {
    if (config.model_config.empty())
      throw Error("training config '" + config.name + "': a language_model stage starts from model_config (its "
                  "text_config is the BLOOM trained) and a tokenizer");
    auto medvqa = model::MedVqaConfig::from_json(model::read_json_file(config.model_config));
    if (tokenizer_.vocab_size() > medvqa.text.vocab_size)
      throw Error("training config '" + config.name + "': the tokenizer has more tokens than the vocab_size");
    device_ = model::require_usable(config.device);
    lm_ = model::BloomForCausalLM(medvqa.text);
    model::init_weights(*lm_, 0.02, config.init_seed);
    lm_->to(device_);
    const std::string prompt = config.prompt_template ? *config.prompt_template : medvqa.prompt_template;
    auto train_docs = read_documents(config.train, prompt, verbose);
    auto extra_validation = read_documents(config.validation, prompt, verbose);
    std::vector<int64_t> train_stream, validation_stream;
    const uint64_t cut = uint64_t(config.validation_fraction * 1e6);
    std::vector<size_t> order(train_docs.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle(config.seed);
    std::shuffle(order.begin(), order.end(), shuffle);
    int64_t held_out = 0;
    auto append = [&](std::vector<int64_t>& stream, const std::string& doc) {
      auto ids = tokenizer_.encode(doc);
      stream.insert(stream.end(), ids.begin(), ids.end());
      stream.push_back(medvqa.text.eos_token_id);
    };
    for (size_t i : order) {
      // The basis is a digit short of FNV's offset; kept, as it decides which documents are held out.
      bool validation = io::fnv1a(train_docs[i], 1469598103934665603ull) % 1000000 < cut;
      append(validation ? validation_stream : train_stream, train_docs[i]);
      held_out += validation;
    }
    for (const auto& doc : extra_validation) append(validation_stream, doc);
    const int64_t L = config.sequence_length;
    train_ = chunks(train_stream, L);
    order_ = std::make_unique<EpochOrder>(size_t(train_.size(0)), config.seed);
    validation_ = chunks(validation_stream, L);
    if (train_.size(0) < config.batch_size)
      throw Error("training config '" + config.name + "': the documents make " + std::to_string(train_.size(0)) +
                  " sequences of " + std::to_string(L) + " tokens, fewer than batch_size");
    if (verbose)
      std::cerr << "language-model pre-training on " << train_docs.size() - size_t(held_out) << " documents ("
                << train_stream.size() << " tokens, " << train_.size(0) << " sequences of " << L
                << "), validating on " << held_out + int64_t(extra_validation.size()) << " documents ("
                << validation_.size(0) << " sequences)\n";
  }

  torch::nn::Module& module() override { return *lm_; }

  torch::Tensor loss(int64_t step) override {
    const int64_t B = config_.batch_size, N = train_.size(0);
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < B; ++k) {
      const int64_t position = step * B + k;
      rows.push_back(order_->of(position / N)[size_t(position % N)]);
    }
    return sequence_loss(train_.index({torch::tensor(rows)})).mean();
  }

  nlohmann::json evaluate() override {
    nlohmann::json e;
    if (validation_.size(0) == 0) {
      e["metric"] = 0.0;
      return e;
    }
    double sum = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < validation_.size(0); i += 64) {
      auto l = sequence_loss(validation_.narrow(0, i, std::min<int64_t>(64, validation_.size(0) - i)));
      sum += l.sum().item<double>();
      n += l.numel();
    }
    const double loss = sum / double(n);
    e["validation_loss"] = loss;
    e["validation_perplexity"] = std::exp(loss);
    e["validation_tokens"] = n;
    e["metric"] = -loss;
    return e;
  }

  void save(const std::string& dir) override {
    model::save_bloom(lm_, dir);
    tokenizer_.save((fs::path(dir) / "tokenizer.json").string());
  }

  void load(const std::string& dir) override {
    auto loaded = model::load_bloom(dir);
    copy_parameters(*loaded, *lm_);
  }

 private:
  // The stream cut into [n, L] rows (the tail shorter than L dropped).
  static torch::Tensor chunks(const std::vector<int64_t>& stream, int64_t L) {
    const int64_t n = int64_t(stream.size()) / L;
    return torch::tensor(std::vector<int64_t>(stream.begin(), stream.begin() + n * L), torch::kLong).view({n, L});
  }

  // Next-token cross-entropy of each predicted position, flat.
  torch::Tensor sequence_loss(const torch::Tensor& ids) {
    auto input = ids.to(device_);
    auto logits = lm_->forward(input, model::full_attention_mask(input.size(0), input.size(1), device_));
    auto predicted = logits.narrow(1, 0, input.size(1) - 1).reshape({-1, logits.size(2)}).to(torch::kFloat32);
    return torch::nn::functional::cross_entropy(
        predicted, input.narrow(1, 1, input.size(1) - 1).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }


  TrainConfig config_;
  text::Tokenizer tokenizer_;
  torch::Device device_ = torch::kCPU;
  model::BloomForCausalLM lm_{nullptr};
  torch::Tensor train_, validation_;
  std::unique_ptr<EpochOrder> order_;
};

}  // namespace

std::unique_ptr<PretrainingObjective> make_language_objective(const TrainConfig& config, bool verbose) {
  return std::make_unique<LanguageObjective>(config, verbose);
}

}  // namespace medvqa::train
