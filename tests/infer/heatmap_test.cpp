// Where the model looked: the Q-Former's recorded attentions, both heat map methods on the tiny
// preset and a real image, the blended overlay, and the errors a caller can make.
#include <gtest/gtest.h>

#include "image/heatmap_overlay.h"
#include "infer/heatmap.h"
#include "io/error.h"
#include "testing/tiny_answerer.h"

namespace medvqa {
namespace {

image::Image test_image() { return image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg"); }

TEST(Heatmap, QFormerAttentionsAreEachLayersDistributions) {
  torch::NoGradGuard no_grad;
  auto answerer = testing::tiny_answerer(0.5, 11);
  auto& m = answerer.model();
  auto tokens = m->visual->forward_tokens(answerer.pixels({test_image(), test_image()}));
  auto mask = torch::ones({2, tokens.size(1)}, torch::kLong);
  mask[1].narrow(0, 5, 3).zero_();
  model::QFormerAttentions a;
  auto queries = m->query_tokens.expand({2, -1, -1});
  auto with = m->qformer->forward(queries, tokens, mask, nullptr, &a);
  // Recording changes nothing.
  EXPECT_TRUE(torch::equal(with, m->qformer->forward(queries, tokens, mask)));
  const auto& c = m->config;
  ASSERT_EQ(a.attentions.size(), size_t(c.qformer.num_hidden_layers));
  ASSERT_EQ(a.cross_attentions.size(), size_t(c.qformer.num_hidden_layers));  // cross_attention_frequency 1
  for (const auto& p : a.attentions) {
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, c.qformer.num_attention_heads, c.num_query_tokens, c.num_query_tokens}));
    EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones_like(p.sum(-1)), 1e-5, 1e-5));
  }
  for (const auto& p : a.cross_attentions) {
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, c.qformer.num_attention_heads, c.num_query_tokens, tokens.size(1)}));
    EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones_like(p.sum(-1)), 1e-5, 1e-5));
    EXPECT_EQ(p[1].narrow(-1, 5, 3).abs().max().item<float>(), 0.0f) << "masked image tokens got attention";
    EXPECT_GT(p[0].narrow(-1, 5, 3).min().item<float>(), 0.0f);
  }
}

TEST(Heatmap, BothMethodsGiveAPatchGridScaledToMaxOne) {
  auto answerer = testing::tiny_answerer(0.5, 11);
  infer::Explainer explainer(answerer, answerer.model());
  const auto image = test_image();
  const std::string question = "Which organ is shown?";
  const std::string answer = "liver";
  for (auto method : {infer::HeatmapMethod::kAttention, infer::HeatmapMethod::kGradCam}) {
    SCOPED_TRACE(infer::heatmap_method_name(method));
    auto h = explainer.explain(image, question, answer, method);
    const int64_t grid = answerer.model()->config.vision.image_size / answerer.model()->config.vision.patch_size;
    ASSERT_EQ(h.grid, grid);
    ASSERT_EQ(h.values.size(), size_t(grid * grid));
    float most = 0;
    for (float v : h.values) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 1);
      most = std::max(most, v);
    }
    EXPECT_EQ(most, 1.0f) << "a random model's answer has some patch that raises it";
    EXPECT_EQ(h.answer, answer);
    EXPECT_EQ(h.crop_side, std::min(image.width, image.height));
    EXPECT_EQ(explainer.explain(image, question, answer, method).values, h.values);  // deterministic
    auto j = infer::to_json(h);
    EXPECT_EQ(j["values"].size(), size_t(grid));
    EXPECT_EQ(j["method"], infer::heatmap_method_name(method));
  }
  EXPECT_THROW(explainer.explain(image, question, "  ", infer::HeatmapMethod::kAttention), Error);
  // From an Answer: the withheld answer when it was withheld, nothing for an empty one.
  infer::Answer withheld;
  withheld.text = infer::kUncertainAnswer;
  withheld.uncertain = true;
  withheld.withheld_answer = answer;
  auto from_answer = explainer.explain_answer(image, question, withheld, infer::HeatmapMethod::kGradCam);
  ASSERT_TRUE(from_answer);
  EXPECT_EQ(from_answer->answer, answer);
  EXPECT_EQ(from_answer->values, explainer.explain(image, question, answer, infer::HeatmapMethod::kGradCam).values);
  EXPECT_FALSE(explainer.explain_answer(image, question, infer::Answer{}, infer::HeatmapMethod::kGradCam));
  EXPECT_THROW(infer::parse_heatmap_method("saliency"), Error);
  EXPECT_EQ(infer::parse_heatmap_method("gradcam"), infer::HeatmapMethod::kGradCam);
}

TEST(Heatmap, OverlayColoursOnlyWhereTheMapIsHigh) {
  auto view = image::model_view(test_image(), 64);
  ASSERT_EQ(view.width, 64);
  ASSERT_EQ(view.height, 64);
  std::vector<float> zeros(16, 0.0f);
  EXPECT_EQ(image::overlay_heatmap(view, zeros, 4).pixels, view.pixels);
  std::vector<float> corner(16, 0.0f);
  corner[15] = 1.0f;  // the bottom-right patch
  auto out = image::overlay_heatmap(view, corner, 4, 1.0);
  auto px = [&](const image::Image& im, int x, int y, int k) { return int(im.pixels[(size_t(y) * 64 + size_t(x)) * 3 + size_t(k)]); };
  EXPECT_EQ(px(out, 2, 2, 0), px(view, 2, 2, 0));  // the top-left corner is untouched
  EXPECT_EQ(px(out, 62, 62, 0), 255);              // the peak is red at full opacity
  EXPECT_EQ(px(out, 62, 62, 2), 0);
  EXPECT_THROW(image::overlay_heatmap(view, std::vector<float>(15), 4), Error);
}

}  // namespace
}  // namespace medvqa
