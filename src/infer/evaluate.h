#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/example.h"
#include "eval/metrics.h"
#include "infer/answerer.h"

namespace medvqa::infer {

// The controls of an evaluation: what the model sees instead of each question's own image.
enum class ImageControl {
  kReal,
  kBlank,     // a uniform mid-gray image (the answer can only come from the question)
  kShuffled,  // the image of another question of the split (a fixed permutation)
  kNone,      // no image tokens at all: the question alone (AnswerOptions::without_image)
};
// "real", "blank", "shuffled", "none"; anything else throws naming the value.
ImageControl parse_image_control(const std::string& name);

// The scored form of one answer to one example. Examples without an answer_type (PMC-VQA) are
// marked OPEN: the model answers them in free text, as it does open questions.
eval::Prediction to_prediction(const data::VqaExample& example, Answer answer);

// Called after each batch with the number of questions answered so far and the total.
using Progress = std::function<void(size_t done, size_t total)>;

// Answers every example, `batch_size` questions per model call, and returns one Prediction per
// example in input order. Images are decoded on worker threads a few batches ahead of the model,
// so decoding overlaps inference. An image that cannot be loaded throws medvqa::Error naming the
// question and the image file. Each answer is scored as to_prediction says. With `histories`
// (one per example, e.g. earlier_turns), each question is asked after its earlier turns.
std::vector<eval::Prediction> predict(Answerer& answerer, const std::vector<data::VqaExample>& examples,
                                      int64_t batch_size, const Progress& progress = {},
                                      const AnswerOptions& options = {}, ImageControl control = ImageControl::kReal,
                                      const std::vector<std::vector<Turn>>& histories = {});

}  // namespace medvqa::infer
