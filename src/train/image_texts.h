#pragma once
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "train/samples.h"

namespace medvqa::train {

// One image and every sentence the training data says about it: its captions, each of its
// questions with the answer ("which organ is abnormal? liver"), and what the dataset records of
// the image itself ("modality: CT", "organs: liver, spleen").
struct ImageTexts {
  std::string image_path;
  std::vector<std::string> statements;
  std::vector<std::pair<std::string, std::string>> attributes;  // e.g. {"modality", "CT"}
};

// The samples grouped by image, in order of first appearance, statements without repeats.
std::vector<ImageTexts> group_by_image(const std::vector<Sample>& samples);

// A text for an image: up to `max_statements` of its statements in random order, joined by "; ".
std::string draw_text(const ImageTexts& image, int64_t max_statements, std::mt19937_64& rng);

}  // namespace medvqa::train
