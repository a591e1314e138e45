#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "infer/answerer.h"

namespace medvqa::app {

// --dtype (compute) and --weights (how the language model's weights are stored), as ask, eval
// and serve take them.
struct PrecisionOptions {
  std::string dtype = "float32", weights = "auto";
};
void add_precision_options(CLI::App* cmd, PrecisionOptions& options);
infer::Answerer load_answerer(const std::string& model_dir, const PrecisionOptions& options);

}  // namespace medvqa::app
