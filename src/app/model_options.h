#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "infer/answerer.h"

namespace medvqa::app {

// How ask, eval and serve load a model: --dtype (compute), --weights (how the language model's
// weights are stored on the CPU) and --device.
struct ModelOptions {
  std::string dtype = "float32", weights = "auto", device = "cpu";
};
void add_model_options(CLI::App* cmd, ModelOptions& options);
infer::Answerer load_answerer(const std::string& model_dir, const ModelOptions& options);

}  // namespace medvqa::app
