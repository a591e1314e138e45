#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "data/example.h"
#include "eval/metrics.h"
#include "infer/answerer.h"

namespace medvqa::infer {

// Called after each batch with the number of questions answered so far and the total.
using Progress = std::function<void(size_t done, size_t total)>;

// Answers every example, `batch_size` questions per model call, and returns one Prediction per
// example in input order. Images are decoded on worker threads a few batches ahead of the model,
// so decoding overlaps inference. An image that cannot be loaded throws medvqa::Error naming the
// question and the image file. Examples without an answer_type (PMC-VQA) are marked OPEN: the
// model answers them in free text, as it does open questions.
std::vector<eval::Prediction> predict(Answerer& answerer, const std::vector<data::VqaExample>& examples,
                                      int64_t batch_size, const Progress& progress = {},
                                      const AnswerOptions& options = {});

}  // namespace medvqa::infer
