#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "image/image.h"
#include "infer/answerer.h"
#include "io/error.h"

namespace medvqa::serve {

// Thrown by submit() when the queue is full (the server answers 503 + Retry-After).
struct QueueFull : Error {
  using Error::Error;
};

// Dynamic batching: requests that arrive within `max_wait` of the first waiting one (up to
// `max_batch`, with the same decoding options) go through the model together, so the vision
// tower, the Q-Former and every decoding step run once for all of them.
class Batcher {
 public:
  // images, questions, each question's earlier turns, the batch's options, and where each
  // streamed answer's text goes while it is generated (unset for the others).
  using RunBatch = std::function<std::vector<infer::Answer>(
      const std::vector<image::Image>&, const std::vector<std::string>&, const std::vector<std::vector<infer::Turn>>&,
      const infer::AnswerOptions&, const std::vector<infer::TextSink>&)>;
  struct Options {
    size_t max_batch = 8;  // 1: no batching
    std::chrono::milliseconds max_wait{10};
    size_t capacity = 64;  // waiting requests before submit() refuses
  };
  struct Result {
    infer::Answer answer;
    double queue_seconds = 0;  // from submit() to the start of its batch
    size_t batch_size = 0;
  };

  Batcher(RunBatch run, Options options);
  ~Batcher();  // finishes every queued request, then stops

  // `sink`, when set, gets the answer's text while its batch generates it (see Answerer::answer).
  std::future<Result> submit(image::Image image, std::string question, infer::AnswerOptions options,
                             std::vector<infer::Turn> history = {}, infer::TextSink sink = {});
  size_t queued() const;

 private:
  struct Job {
    image::Image image;
    std::string question;
    infer::AnswerOptions options;
    std::vector<infer::Turn> history;
    infer::TextSink sink;
    std::promise<Result> promise;
    std::chrono::steady_clock::time_point submitted;
  };
  void loop();
  std::vector<Job> take_batch(std::unique_lock<std::mutex>& lock);

  RunBatch run_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace medvqa::serve
