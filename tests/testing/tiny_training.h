#pragma once
// The stage config the training tests start from: the tiny model on the first `train_rows` real
// SLAKE training rows, everything trained, one thread, no checkpoints; tests set what they vary.
#include <nlohmann/json.hpp>

#include <string>

#include "testing/testing.h"

namespace medvqa::testing {

inline nlohmann::json tiny_training(const std::string& name, const std::string& output_dir, int64_t train_rows) {
  return {
      {"name", name},
      {"output_dir", output_dir},
      {"model_config", source_dir() + "/configs/models/tiny.json"},
      {"tokenizer", golden_root() + "/tokenizer/bpe_small/tokenizer.json"},
      {"train", {{{"format", "slake"}, {"path", data_root() + "/slake/train.json"}, {"limit", train_rows}}}},
      {"trainable", {"*"}},
      {"lr", 2e-3},
      {"warmup_steps", 2},
      {"checkpoint_every", 0},
      {"threads", 1},
      {"crop_scale_min", 0.8},
  };
}

}  // namespace medvqa::testing
