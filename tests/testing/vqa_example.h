#pragma once
// A VQA example with the fields the tests of questions (audit, conversations) set.
#include <string>

#include "data/example.h"

namespace medvqa::testing {

inline data::VqaExample vqa_example(const std::string& image, const std::string& question, const std::string& answer,
                                    const std::string& answer_type = "", const std::string& language = "") {
  data::VqaExample e;
  e.image_path = image;
  e.question = question;
  e.answer = answer;
  e.answer_type = answer_type;
  e.language = language;
  return e;
}

}  // namespace medvqa::testing
