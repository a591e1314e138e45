#include "train/loss.h"

#include <gtest/gtest.h>

#include "model/config.h"
#include "testing/testing.h"

namespace medvqa::train {
namespace {

// Two rows of random tokens whose last three positions are answer targets.
Batch random_batch(const model::MedVqaConfig& c) {
  torch::manual_seed(3);
  Batch b;
  b.pixels = torch::randn({2, 3, c.vision.image_size, c.vision.image_size});
  b.input_ids = torch::randint(5, c.text.vocab_size, {2, 8}, torch::kLong);
  b.attention_mask = torch::ones({2, 8}, torch::kLong);
  b.labels = torch::full({2, 8}, int64_t(-100), torch::kLong);
  b.labels.narrow(1, 4, 3).copy_(b.input_ids.narrow(1, 5, 3));
  return b;
}

TEST(AnswerTokenLosses, LabelSmoothingMixesTheTargetWithTheUniformDistribution) {
  auto config = model::MedVqaConfig::from_json(model::read_json_file(testing::source_dir() + "/configs/models/tiny.json"));
  model::MedVqaModel m(config);
  m->eval();
  torch::NoGradGuard no_grad;
  const auto batch = random_batch(config);
  const auto plain = answer_token_losses(m, batch);
  ASSERT_EQ(plain.numel(), 6);  // one loss per answer token, none elsewhere
  // Each token's loss is (1-e) * CE(target) + e * mean over the vocabulary of -log p: affine in e.
  const auto smoothed = answer_token_losses(m, batch, 0.1);
  const auto twice = answer_token_losses(m, batch, 0.2);
  EXPECT_TRUE(testing::all_close(twice - plain, 2 * (smoothed - plain), 1e-4, 1e-4, "affine in the smoothing"));
  EXPECT_GT((smoothed - plain).abs().max().item<double>(), 1e-4) << "smoothing changed nothing";
}

}  // namespace
}  // namespace medvqa::train
