#pragma once
#include <string>
#include <utility>
#include <vector>

namespace medvqa::data {

// One question about one image, in the same shape whatever dataset it came from. Text fields keep
// the dataset's wording with whitespace cleaned up; case and punctuation are left for
// normalize_answer, so that training targets and scoring agree on one rule set.
struct VqaExample {
  std::string id;
  std::string image_path;     // images_dir joined with the file's image name
  std::string question;
  std::string answer;
  std::string answer_type;    // "CLOSED" / "OPEN"; empty when the format does not say
  std::string question_type;  // VQA-RAD question_type, SLAKE content_type, VQA-Med category
  std::string language;       // "en", "zh", ...
  std::string split;          // "train", "val", "test", or the file's stem
  std::vector<std::string> choices;  // multiple-choice options, when the format has them
  // What the dataset says about the image itself, apart from any question: SLAKE's "modality"
  // and "location" (body region). Image-text pre-training and the linear probes read them.
  std::vector<std::pair<std::string, std::string>> image_attributes;
};

struct CaptionExample {
  std::string id;
  std::string image_path;
  std::string caption;
};

}  // namespace medvqa::data
