#include "infer/evaluate.h"

#include <algorithm>
#include <deque>
#include <future>
#include <random>
#include <string>

#include "io/error.h"

namespace medvqa::infer {

namespace {

// Batches decoded ahead of the one the model is answering, one worker thread each. Three keep
// the model fed even when a batch of large PNGs decodes slower than the model answers one.
constexpr size_t kBatchesAhead = 3;

image::Image blank_image() {
  image::Image gray;
  gray.width = gray.height = 224;
  gray.channels = 3;
  gray.pixels.assign(gray.sample_count(), 128);
  return gray;
}

// images[i] for examples[i] of [begin, end): the image at image_paths[i], or a blank one.
std::vector<image::Image> load_images(const std::vector<data::VqaExample>& examples,
                                      const std::vector<std::string>& image_paths, bool blank, size_t begin,
                                      size_t end) {
  std::vector<image::Image> images;
  images.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    if (blank) {
      images.push_back(blank_image());
      continue;
    }
    try {
      images.push_back(image::load_image(image_paths[i]));
    } catch (const Error& e) {
      throw Error("question " + examples[i].id + ": " + e.what());
    }
  }
  return images;
}

}  // namespace

eval::Prediction to_prediction(const data::VqaExample& example, Answer answer) {
  eval::Prediction p;
  p.id = example.id;
  p.question = example.question;
  p.answer = example.answer;
  // A withheld answer is scored as the model's answer; the report counts it apart (coverage).
  p.withheld = answer.uncertain;
  p.prediction = std::move(answer.uncertain ? answer.withheld_answer : answer.text);
  p.confidence = answer.confidence;
  p.log_probability_by_temperature = std::move(answer.log_probability_by_temperature);
  p.closed_probabilities.insert(answer.closed_probabilities.begin(), answer.closed_probabilities.end());
  p.answer_type = example.answer_type.empty() ? "OPEN" : example.answer_type;
  p.question_type = example.question_type;
  p.language = example.language;
  for (const auto& [key, value] : example.image_attributes)
    if (key == "modality") p.modality = value;
  return p;
}

ImageControl parse_image_control(const std::string& name) {
  if (name == "real") return ImageControl::kReal;
  if (name == "blank") return ImageControl::kBlank;
  if (name == "shuffled") return ImageControl::kShuffled;
  if (name == "none") return ImageControl::kNone;
  throw Error("unknown image control '" + name + "' (real, blank, shuffled or none)");
}

std::vector<eval::Prediction> predict(Answerer& answerer, const std::vector<data::VqaExample>& examples,
                                      int64_t batch_size, const Progress& progress,
                                      const AnswerOptions& options, ImageControl control,
                                      const std::vector<std::vector<Turn>>& histories) {
  if (batch_size < 1) throw Error("the batch size must be at least 1, got " + std::to_string(batch_size));
  if (!histories.empty() && histories.size() != examples.size())
    throw Error(std::to_string(histories.size()) + " histories for " + std::to_string(examples.size()) + " questions");
  const size_t n = examples.size(), step = size_t(batch_size);
  std::vector<std::string> image_paths;
  for (const auto& e : examples) image_paths.push_back(e.image_path);
  if (control == ImageControl::kShuffled) {
    std::mt19937_64 rng(0);
    std::shuffle(image_paths.begin(), image_paths.end(), rng);
  }
  // Without image tokens the pixels are not used: blank ones stand in, and no file is read.
  const bool blank = control == ImageControl::kBlank || control == ImageControl::kNone;
  AnswerOptions answering = options;
  answering.without_image = control == ImageControl::kNone;

  std::deque<std::future<std::vector<image::Image>>> loading;
  size_t next_to_load = 0;
  auto load_ahead = [&]() {
    while (loading.size() < kBatchesAhead && next_to_load < n) {
      const size_t begin = next_to_load, end = std::min(n, begin + step);
      loading.push_back(std::async(std::launch::async, load_images, std::cref(examples), std::cref(image_paths), blank,
                                    begin, end));
      next_to_load = end;
    }
  };

  std::vector<eval::Prediction> predictions;
  predictions.reserve(n);
  load_ahead();
  for (size_t begin = 0; begin < n; begin += step) {
    const size_t end = std::min(n, begin + step);
    auto images = loading.front().get();
    loading.pop_front();
    load_ahead();
    std::vector<std::string> questions;
    for (size_t i = begin; i < end; ++i) questions.push_back(examples[i].question);
    const std::vector<std::vector<Turn>> turns =
        histories.empty() ? std::vector<std::vector<Turn>>{}
                          : std::vector<std::vector<Turn>>(histories.begin() + long(begin), histories.begin() + long(end));
    auto answers = answerer.answer(images, questions, answering, turns);
    for (size_t i = begin; i < end; ++i) predictions.push_back(to_prediction(examples[i], std::move(answers[i - begin])));
    if (progress) progress(end, n);
  }
  return predictions;
}

}  // namespace medvqa::infer
