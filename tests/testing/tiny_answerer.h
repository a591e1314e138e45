#pragma once
// The tiny preset (configs/models/tiny.json) with random weights and the golden small BPE
// tokenizer: a whole answerer that runs on real images in milliseconds, with no checkpoint. For
// the suites that link medvqa_infer.
#include "infer/answerer.h"
#include "model/config.h"
#include "model/init.h"
#include "testing/testing.h"

namespace medvqa::testing {

// `std` scales the random weights (large ones give varied answers and clearly different
// closed-question probabilities); `seed` makes them reproducible.
inline infer::Answerer tiny_answerer(double std, uint64_t seed) {
  auto config = model::MedVqaConfig::from_json(model::read_json_file(source_dir() + "/configs/models/tiny.json"));
  model::MedVqaModel m(config);
  model::init_weights(*m, std, seed);
  m->eval();
  auto tokenizer = text::Tokenizer::from_file(golden_root() + "/tokenizer/bpe_small/tokenizer.json");
  return infer::Answerer(m, std::move(tokenizer), "tiny", torch::kCPU);
}

}  // namespace medvqa::testing
