// The Batcher alone, with a stand-in model: grouping, the bounded queue, failures reaching
// every request of a batch.
#include <gtest/gtest.h>

#include <future>

#include "serve/batcher.h"

namespace medvqa::serve {
namespace {

image::Image pixel() {
  image::Image i;
  i.width = i.height = i.channels = 1;
  i.pixels = {0};
  return i;
}

TEST(Batcher, RequestsArrivingTogetherShareABatch) {
  std::vector<size_t> sizes;
  Batcher::Options o;
  o.max_batch = 4;
  o.max_wait = std::chrono::milliseconds(300);
  std::vector<std::future<Batcher::Result>> futures;
  {
    Batcher b([&](const std::vector<image::Image>& images, const std::vector<std::string>& questions,
                  const std::vector<std::vector<infer::Turn>>& histories, const infer::AnswerOptions&,
                  const std::vector<infer::TextSink>&) {
      sizes.push_back(images.size());
      std::vector<infer::Answer> answers(questions.size());
      for (size_t i = 0; i < questions.size(); ++i)
        answers[i].text = "re: " + questions[i] + (histories[i].empty() ? "" : " after " + histories[i][0].answer);
      return answers;
    }, o);
    for (int i = 0; i < 3; ++i) futures.push_back(b.submit(pixel(), "q" + std::to_string(i), {}));
    futures.push_back(b.submit(pixel(), "q3", {}, {{"Which organ?", "liver"}}));  // a follow-up, same batch
    infer::AnswerOptions longer;
    longer.max_new_tokens = 3;  // different decoding options: a batch of its own
    futures.push_back(b.submit(pixel(), "q4", longer));
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(futures[size_t(i)].get().answer.text, "re: q" + std::to_string(i) + (i == 3 ? " after liver" : ""));
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 1}));
}

TEST(Batcher, AFullQueueRefusesAndFailuresReachEveryRequest) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  Batcher::Options o;
  o.max_batch = 1;
  o.capacity = 1;
  Batcher b([&, first = true](const std::vector<image::Image>&, const std::vector<std::string>& q,
                              const std::vector<std::vector<infer::Turn>>&, const infer::AnswerOptions&,
                              const std::vector<infer::TextSink>&) mutable -> std::vector<infer::Answer> {
    if (first) {
      first = false;
      started.set_value();
      released.wait();
    }
    if (q[0] == "fail") throw Error("model exploded");
    return std::vector<infer::Answer>(q.size());
  }, o);
  auto running = b.submit(pixel(), "first", {});
  started.get_future().wait();  // the worker holds the first request
  auto waiting = b.submit(pixel(), "fail", {});
  EXPECT_THROW(b.submit(pixel(), "third", {}), QueueFull);
  release.set_value();
  EXPECT_NO_THROW(running.get());
  EXPECT_THROW(waiting.get(), Error);
}

}  // namespace
}  // namespace medvqa::serve
