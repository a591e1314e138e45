// Where a trained model looks: the tiny preset, trained a few hundred steps to tell whether a gray
// image holds a white square (anywhere on its 4 x 4 patch grid), puts the attention heat map's
// peak on the square's patch, well above every other patch, and the peak moves with the square
// from one corner to the other. The same model before training fails the check.
#include <gtest/gtest.h>

#include <fstream>

#include "image/image.h"
#include "infer/heatmap.h"
#include "model/pretrained.h"
#include "testing/testing.h"
#include "testing/tiny_training.h"
#include "train/trainer.h"

namespace medvqa::train {
namespace {

const std::string kQuestion = "Is there a square?";

// 64 x 64 gray (the tiny preset's input side, so nothing is resized or cropped), with a white
// square inside patch (row, col) of the 16-pixel grid when row >= 0.
image::Image square_at(int row, int col) {
  image::Image im;
  im.width = im.height = 64;
  im.channels = 1;
  im.pixels.assign(64 * 64, 96);
  if (row >= 0)
    for (int y = row * 16 + 2; y < row * 16 + 14; ++y)
      for (int x = col * 16 + 2; x < col * 16 + 14; ++x) im.pixels[size_t(y * 64 + x)] = 255;
  return im;
}

// A SLAKE-format split in `dir`: one image per patch position ("yes") and as many blank ones ("no").
std::string write_split(const testing::TempDir& dir) {
  std::filesystem::create_directories(dir.file("imgs"));
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < 32; ++i) {
    const bool square = i < 16;
    const std::string name = "img" + std::to_string(i) + ".png";
    const auto png = image::encode_png(square ? square_at(i / 4, i % 4) : square_at(-1, 0));
    std::ofstream(dir.file("imgs/" + name), std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size()));
    rows.push_back({{"qid", std::to_string(i)}, {"img_name", name}, {"question", kQuestion},
                    {"answer", square ? "yes" : "no"}, {"answer_type", "CLOSED"}, {"q_lang", "en"}});
  }
  std::ofstream(dir.file("train.json")) << rows.dump();
  return dir.file("train.json");
}

// Whether the map of "yes" for a square in patch (row, col) peaks there and the other patches
// average under 0.3 of the peak (a flat map averages 1).
bool looks_at(infer::Explainer& explainer, infer::HeatmapMethod method, int row, int col) {
  const auto h = explainer.explain(square_at(row, col), kQuestion, "yes", method);
  const size_t at = size_t(row * h.grid + col);
  double others = 0;
  for (size_t i = 0; i < h.values.size(); ++i)
    if (i != at) others += h.values[i];
  others /= double(h.values.size() - 1);
  return h.values[at] == 1.0f && others < 0.3;
}

// Grad-CAM is not checked: on this task it peaks on the square for some training seeds and
// away from it for others (seeds 1, 3, 5 against 2, 4), as when the answer's evidence is the
// gray patches' features falling rather than the square's rising, which its positive part drops.
void expect_attention_looks(infer::Explainer& explainer, bool expected) {
  EXPECT_EQ(looks_at(explainer, infer::HeatmapMethod::kAttention, 0, 0), expected) << "square in the top left corner";
  EXPECT_EQ(looks_at(explainer, infer::HeatmapMethod::kAttention, 3, 3), expected)
      << "square in the bottom right corner";
}

TEST(HeatmapAfterTraining, ATrainedModelLooksWhereTheSquareIs) {
  testing::TempDir data, out;
  auto j = testing::tiny_training("square", out.path(), 0);
  j["train"] = {{{"format", "slake"}, {"path", write_split(data)}}};
  j.update({{"max_steps", 300}, {"batch_size", 16}, {"warmup_steps", 20}, {"crop_scale_min", 1.0}, {"seed", 3}});
  const auto config = TrainConfig::from_json(j, "");
  auto tokenizer = text::Tokenizer::from_file(config.tokenizer);
  {
    SCOPED_TRACE("untrained");
    auto untrained = model::create_medvqa(config.model_config, config.init_seed);
    untrained->eval();
    infer::Answerer answerer(untrained, tokenizer, "square", torch::kCPU);
    infer::Explainer explainer(answerer, untrained);
    expect_attention_looks(explainer, false);
  }
  Trainer trainer(config, false);
  trainer.run(false);
  auto& model = trainer.model();
  model->eval();
  infer::Answerer answerer(model, tokenizer, "square", torch::kCPU);
  EXPECT_EQ(answerer.answer(square_at(0, 0), kQuestion).text, "yes");
  EXPECT_EQ(answerer.answer(square_at(3, 3), kQuestion).text, "yes");
  EXPECT_EQ(answerer.answer(square_at(-1, 0), kQuestion).text, "no");
  infer::Explainer explainer(answerer, model);
  expect_attention_looks(explainer, true);
}

}  // namespace
}  // namespace medvqa::train
