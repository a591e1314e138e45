// Follow-up questions: earlier turns go into the prompt in the model's template.
#include <gtest/gtest.h>

#include "infer/conversation.h"
#include "io/error.h"
#include "testing/tiny_answerer.h"
#include "testing/vqa_example.h"

namespace medvqa {
namespace {

image::Image test_image() { return image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg"); }

using testing::error_of;

data::VqaExample question(const std::string& image, const std::string& q, const std::string& a,
                          const std::string& language = "en") {
  return testing::vqa_example(image, q, a, "", language);
}

// Four questions about a.png (one asked twice, one in Chinese), one about b.png.
std::vector<data::VqaExample> split() {
  return {question("a.png", "Which organ?", "Liver"), question("b.png", "Is it CT?", "yes"),
          question("a.png", "Is it abnormal?", "no"), question("a.png", "which organ? ", "liver"),
          question("a.png", "Which plane?", "Axial"), question("a.png", "什么器官?", "肝", "zh")};
}

TEST(Conversation, PartnersShareTheImageAndLanguageButNotTheQuestion) {
  const auto partners = infer::conversation_partners(split());
  EXPECT_EQ(partners[0], (std::vector<size_t>{2, 4}));  // 3 asks the same question: it would answer itself
  EXPECT_TRUE(partners[1].empty());
  EXPECT_EQ(partners[2], (std::vector<size_t>{0, 3, 4}));
  EXPECT_EQ(partners[4], (std::vector<size_t>{0, 2, 3}));
  EXPECT_TRUE(partners[5].empty());
}

TEST(Conversation, EarlierTurnsAreTheLastPartnersBeforeEachQuestionWithNormalizedAnswers) {
  const auto h = infer::earlier_turns(split(), 2);
  ASSERT_EQ(h.size(), 6u);
  EXPECT_TRUE(h[0].empty());
  EXPECT_TRUE(h[1].empty());
  ASSERT_EQ(h[2].size(), 1u);
  EXPECT_EQ(h[2][0].question, "Which organ?");
  EXPECT_EQ(h[2][0].answer, "liver");  // as the model answers: normalized
  ASSERT_EQ(h[4].size(), 2u);          // 0, 2, 3 come before it; the last two are kept
  EXPECT_EQ(h[4][0].question, "Is it abnormal?");
  EXPECT_EQ(h[4][1].question, "which organ? ");
  EXPECT_TRUE(infer::earlier_turns(split(), 0)[4].empty());
}

TEST(Conversation, RandomHistoriesDrawPartnersAtTheGivenRateReproducibly) {
  std::vector<data::VqaExample> many;
  for (int image = 0; image < 200; ++image)
    for (int k = 0; k < 5; ++k)
      many.push_back(question(std::to_string(image) + ".png", "question " + std::to_string(k) + "?", "a" + std::to_string(k)));
  const auto h = infer::random_histories(many, 0.3, 3, 42);
  const auto partners = infer::conversation_partners(many);
  size_t with = 0;
  for (size_t i = 0; i < many.size(); ++i) {
    if (h[i].empty()) continue;
    ++with;
    EXPECT_LE(h[i].size(), 3u);
    for (const auto& turn : h[i]) {
      EXPECT_NE(turn.question, many[i].question);
      bool partner = false;
      for (size_t j : partners[i]) partner |= many[j].question == turn.question;
      EXPECT_TRUE(partner) << turn.question;
    }
  }
  EXPECT_NEAR(double(with) / double(many.size()), 0.3, 0.05);  // 1000 draws: sd 0.014
  const auto again = infer::random_histories(many, 0.3, 3, 42);
  for (size_t i = 0; i < many.size(); ++i) {
    ASSERT_EQ(again[i].size(), h[i].size());
    for (size_t k = 0; k < h[i].size(); ++k) EXPECT_EQ(again[i][k].question, h[i][k].question);
  }
  for (const auto& none : infer::random_histories(many, 0.0, 3, 42)) EXPECT_TRUE(none.empty());
  EXPECT_THROW(infer::random_histories(many, 1.5, 3, 42), Error);
}

// A model trained on single questions answers follow-ups as it was trained: alone.
TEST(Conversation, AModelNotTrainedWithFollowUpsAsksEachQuestionAlone) {
  auto answerer = testing::tiny_answerer(0.02, 7);
  const std::vector<infer::Turn> history = {{"Which organ?", "liver"}};
  ASSERT_TRUE(answerer.model()->config.follow_ups_in_prompt);  // configs/models/tiny.json
  EXPECT_NE(answerer.prompt("Is it enlarged?", history), answerer.prompt("Is it enlarged?"));
  answerer.model()->config.follow_ups_in_prompt = false;
  EXPECT_EQ(answerer.prompt("Is it enlarged?", history), answerer.prompt("Is it enlarged?"));
}

TEST(Conversation, EarlierTurnsPrecedeTheQuestionInTheTemplate) {
  auto answerer = testing::tiny_answerer(0.02, 7);
  EXPECT_EQ(answerer.prompt("Is it enlarged?", {{"Which organ?", " liver\n"}, {"Which side?", "left"}}),
            answerer.prompt("Which organ?") + " liver " + answerer.prompt("Which side?") + " left " +
                answerer.prompt("Is it enlarged?"));
  EXPECT_EQ(answerer.prompt("Is it enlarged?", {}), answerer.prompt("Is it enlarged?"));
  EXPECT_NE(error_of([&] { answerer.prompt("Is it enlarged?", {{" ", "liver"}}); }).find("earlier question 1 is empty"),
            std::string::npos);
  const std::vector<infer::Turn> long_history(5, {std::string(1900, 'a'), "yes"});
  EXPECT_NE(error_of([&] { answerer.prompt("Is it enlarged?", long_history); }).find("the conversation is"),
            std::string::npos);
}

TEST(Conversation, EachRowOfABatchIsAnsweredAsItsConversationAlone) {
  auto answerer = testing::tiny_answerer(0.5, 11);
  const auto image = test_image();
  infer::AnswerOptions o;
  o.max_new_tokens = 5;
  const std::vector<infer::Turn> history = {{"Which organ is shown?", "lung"}};
  const auto batch = answerer.answer({image, image}, {"Is it normal?", "Is it normal?"}, o, {{}, history});
  const std::vector<image::Image> one = {image};
  const std::vector<std::string> question = {"Is it normal?"};
  const auto alone = answerer.answer(one, question, o);
  const auto followed = answerer.answer(one, question, o, {history});
  EXPECT_EQ(batch[0].text, alone[0].text);
  EXPECT_EQ(batch[1].text, followed[0].text);
  EXPECT_EQ(batch[1].prompt_tokens, followed[0].prompt_tokens);
  EXPECT_GT(followed[0].prompt_tokens, alone[0].prompt_tokens);
  EXPECT_NEAR(batch[1].confidence, followed[0].confidence, 1e-4);
  EXPECT_THROW(answerer.answer({image, image}, {"Is it normal?", "Is it normal?"}, o, {history}), Error);
}

TEST(ImagePrefixCache, KeepsTheMostRecentlyUsedWithinItsCapacity) {
  infer::ImagePrefixCache cache(2);
  cache.insert(1, torch::full({1}, 1.0));
  cache.insert(2, torch::full({1}, 2.0));
  ASSERT_TRUE(cache.find(1).has_value());  // 1 is now the most recent
  cache.insert(3, torch::full({1}, 3.0));  // evicts 2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find(2).has_value());
  EXPECT_EQ(cache.find(1)->item<double>(), 1.0);
  EXPECT_EQ(cache.find(3)->item<double>(), 3.0);
  infer::ImagePrefixCache copy = cache;  // its own list: using it leaves the original as it was
  copy.insert(4, torch::full({1}, 4.0));
  EXPECT_FALSE(cache.find(4).has_value());
  EXPECT_EQ(copy.find(3)->item<double>(), 3.0);
  EXPECT_TRUE(cache.find(1).has_value());
  infer::ImagePrefixCache none;
  none.insert(1, torch::ones({1}));
  EXPECT_EQ(none.size(), 0u);
}

// The reference vectors of the SipHash paper's appendix: key 00..0f, messages 00..(n-1).
TEST(ImagePrefixCache, SipHashMatchesTheReferenceVectors) {
  const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
  uint8_t message[15];
  for (int i = 0; i < 15; ++i) message[i] = uint8_t(i);
  infer::SipHash24 empty(k0, k1);
  EXPECT_EQ(empty.digest(), 0x726fdb47dd0e0e31ull);
  infer::SipHash24 whole(k0, k1);
  whole.update(message, 15);
  EXPECT_EQ(whole.digest(), 0xa129ca6149be45e5ull);
  infer::SipHash24 pieces(k0, k1);  // the same bytes in uneven pieces
  pieces.update(message, 3);
  pieces.update(message + 3, 9);
  pieces.update(message + 12, 3);
  EXPECT_EQ(pieces.digest(), whole.digest());
}

TEST(ImagePrefixCache, KeysOnTheImageContent) {
  auto a = test_image(), b = a;
  EXPECT_EQ(infer::content_hash(a), infer::content_hash(b));
  b.pixels[b.pixels.size() / 2] ^= 1;
  EXPECT_NE(infer::content_hash(a), infer::content_hash(b));
}

// With the cache, a repeated image is not encoded again and every answer stays what it was, also
// for a batch holding more distinct images than the cache.
TEST(ImagePrefixCache, AnswersStayTheSameAndRepeatsComeFromTheCache) {
  auto plain = testing::tiny_answerer(0.5, 11), cached = testing::tiny_answerer(0.5, 11);
  cached.set_image_cache(1);
  auto other = image::load_image(testing::data_root() + "/slake/imgs/xmlab10/source.jpg");
  const std::vector<image::Image> images = {test_image(), other, test_image()};
  const std::vector<std::string> questions = {"Is it normal?", "Which organ is shown?", "Is this a CT?"};
  infer::AnswerOptions o;
  o.max_new_tokens = 5;
  const auto expected = plain.answer(images, questions, o);
  const auto first = cached.answer(images, questions, o);
  const auto again = cached.answer(images, questions, o);
  for (size_t i = 0; i < images.size(); ++i) {
    EXPECT_EQ(first[i].text, expected[i].text) << i;
    EXPECT_EQ(again[i].text, expected[i].text) << i;
    EXPECT_NEAR(again[i].confidence, expected[i].confidence, 1e-4) << i;
  }
  EXPECT_FALSE(first[0].image_cached);
  EXPECT_FALSE(first[1].image_cached);
  // The cache holds one image: the last encoded (the second); the first comes back encoded again.
  EXPECT_EQ(cached.image_cache().size(), 1u);
  EXPECT_TRUE(again[1].image_cached);
}

}  // namespace
}  // namespace medvqa
