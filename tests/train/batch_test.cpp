#include <gtest/gtest.h>

#include "io/error.h"
#include "testing/testing.h"
#include "train/batch.h"

namespace medvqa::train {
namespace {

TEST(Batch, AFollowUpIsTrainedOnThePromptAChatFollowUpGets) {
  auto tokenizer = text::Tokenizer::from_file(testing::golden_root() + "/tokenizer/bpe_small/tokenizer.json");
  TextFormat format{"Question: {question} Answer:", "Caption:", 96, 24, 2};
  Sample s;
  s.question = "Is it enlarged?";
  s.target = "no";
  const std::vector<infer::Turn> history = {{"Which organ?", "liver"}};
  auto t = tokenize_sample(s, tokenizer, format, history);
  EXPECT_EQ(t.prompt, tokenizer.encode(infer::conversation_prompt(format.prompt_template, s.question, history)));
  EXPECT_EQ(t.prompt, tokenizer.encode("Question: Which organ? Answer: liver Question: Is it enlarged? Answer:"));
  EXPECT_EQ(t.target, tokenize_sample(s, tokenizer, format).target);  // the loss stays on the answer
  // An over-long conversation keeps its end, where the question is.
  format.max_prompt_tokens = 8;
  auto cut = tokenize_sample(s, tokenizer, format, history);
  ASSERT_EQ(cut.prompt.size(), 8u);
  EXPECT_EQ(cut.prompt.back(), t.prompt.back());
}

TEST(Batch, LossCoversTheAnswerTokensOnly) {
  auto tokenizer = text::Tokenizer::from_file(testing::golden_root() + "/tokenizer/bpe_small/tokenizer.json");
  TextFormat format{"Question: {question} Answer:", "Caption:", 48, 24, 2};
  Sample s;
  s.question = "Is the lung healthy?";
  s.target = "yes";
  auto t = tokenize_sample(s, tokenizer, format);
  EXPECT_EQ(t.prompt, tokenizer.encode("Question: Is the lung healthy? Answer:"));
  auto answer = tokenizer.encode(" yes");
  ASSERT_EQ(t.target.size(), answer.size() + 1);
  EXPECT_EQ(t.target.back(), 2);

  Sample caption;
  caption.target = "CT, axial: liver lesion";
  auto c = tokenize_sample(caption, tokenizer, format);
  EXPECT_EQ(c.prompt, tokenizer.encode("Caption:"));

  // Two rows of different length, right-padded; labels = next token on target positions only.
  std::vector<const TokenizedSample*> tokens = {&t, &c};
  int64_t T = int64_t(std::max(t.prompt.size() + t.target.size(), c.prompt.size() + c.target.size()));
  // make_batch needs images; check the label layout through a stand-in cache of two paths.
  s.image_path = testing::data_root() + "/slake/imgs/xmlab1/source.jpg";
  caption.image_path = s.image_path;
  image::PreprocessConfig pre;
  pre.image_size = 32;
  ImageCache cache({s.image_path}, pre, 1);
  auto b = make_batch({&s, &caption}, tokens, cache, pre, 3, Augmentation{}, nullptr);
  ASSERT_EQ(b.input_ids.size(1), T);
  EXPECT_EQ(b.pixels.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  for (int64_t j = 0; j < T; ++j) {
    int64_t p = int64_t(t.prompt.size()), n = p + int64_t(t.target.size());
    int64_t expected = (j >= p - 1 && j + 1 < n) ? b.input_ids[0][j + 1].item<int64_t>() : -100;
    EXPECT_EQ(b.labels[0][j].item<int64_t>(), expected) << j;
    EXPECT_EQ(b.attention_mask[0][j].item<int64_t>(), j < n ? 1 : 0);
  }
}

TEST(ImageCacheTest, MissingImageIsAClearError) {
  image::PreprocessConfig pre;
  pre.image_size = 32;
  try {
    ImageCache cache({"/nonexistent/x.jpg"}, pre, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.jpg"), std::string::npos);
  }
}

}  // namespace
}  // namespace medvqa::train
