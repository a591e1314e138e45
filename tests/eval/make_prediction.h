#pragma once
#include <string>

#include "eval/metrics.h"

namespace medvqa::eval {

// A prediction as the report tests hand-score them: question "question <id>".
inline Prediction make_prediction(const std::string& id, const std::string& type, const std::string& answer,
                                  const std::string& prediction, const std::string& question_type,
                                  const std::string& language, const std::string& modality = "") {
  Prediction p;
  p.id = id;
  p.question = "question " + id;
  p.answer_type = type;
  p.answer = answer;
  p.prediction = prediction;
  p.question_type = question_type;
  p.language = language;
  p.modality = modality;
  return p;
}

}  // namespace medvqa::eval
