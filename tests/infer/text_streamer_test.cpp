// Streaming an answer's text as its tokens come: whole characters, the answer's own text, and each
// batch row's pieces while the batch generates.
#include "infer/text_streamer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/image.h"
#include "io/error.h"
#include "testing/testing.h"
#include "testing/tiny_answerer.h"

namespace medvqa::infer {
namespace {

TEST(TextStreamer, PiecesAreWholeCharactersThatJoinToTheAnswer) {
  // The shipped tokenizer splits CJK characters into bytes across tokens.
  const auto tokenizer = text::Tokenizer::from_file(testing::source_dir() + "/models/medvqa-small/tokenizer.json");
  for (const std::string answer : {"left lung", "\xe8\x82\xba\xe9\x83\xa8 (lung) \xe5\xbf\x83\xe8\x84\x8f", "\xf0\x9f\xab\x81 x"}) {
    std::string joined;
    for (const auto& p : stream_pieces(tokenizer, answer)) {
      EXPECT_NO_THROW(nlohmann::json(p).dump()) << "a piece of '" << answer << "' is not valid UTF-8";
      joined += p;
    }
    EXPECT_EQ(joined, answer);
  }
}

TEST(TextStreamer, WhitespaceAtTheEndsIsNotSentBeforeTextFollowsIt) {
  const auto tokenizer = text::Tokenizer::from_file(testing::source_dir() + "/models/medvqa-small/tokenizer.json");
  TextStreamer s(tokenizer);
  std::string sent;
  for (int64_t id : tokenizer.encode("  yes  ", false)) sent += s.push(id);
  EXPECT_EQ(sent, "yes");
  EXPECT_EQ(s.finish("yes"), "");
}

TEST(TextStreamer, EachRowOfABatchIsStreamedWhileTheBatchGenerates) {
  auto answerer = testing::tiny_answerer(0.5, 11);
  const std::vector<image::Image> images = {image::load_image(testing::data_root() + "/slake/imgs/xmlab1/source.jpg"),
                                            image::load_image(testing::data_root() + "/slake/imgs/xmlab10/source.jpg")};
  const std::vector<std::string> questions = {"Which organ is shown?", "What is abnormal?"};
  AnswerOptions o;
  // Sampled, for answers of several tokens from the random tiny model.
  o.max_new_tokens = 12;
  o.temperature = 1.0;
  o.seed = 5;
  std::vector<std::pair<size_t, std::string>> calls;  // (row, piece) in call order
  std::vector<TextSink> sinks = {[&](const std::string& p) { calls.emplace_back(0, p); },
                                 [&](const std::string& p) { calls.emplace_back(1, p); }};
  const auto streamed = answerer.answer(images, questions, o, {}, sinks);
  const auto plain = answerer.answer(images, questions, o);
  std::string joined[2];
  for (const auto& [row, piece] : calls) joined[row] += piece;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(streamed[i].text, plain[i].text);
    EXPECT_EQ(joined[i], plain[i].text);
  }
  // A row's pieces on both sides of the other row's: each went out at its decoding step, not
  // after the batch (then each row's text would come in one run).
  bool alternates = false;
  for (size_t k = 2; k < calls.size(); ++k)
    for (size_t j = 1; j < k; ++j) alternates |= calls[j - 1].first == calls[k].first && calls[j].first != calls[k].first;
  EXPECT_TRUE(alternates) << "answers: '" << plain[0].text << "', '" << plain[1].text << "'";

  o.min_confidence = 0.5;
  EXPECT_THROW(answerer.answer(images, questions, o, {}, sinks), medvqa::Error);
}

}  // namespace
}  // namespace medvqa::infer
