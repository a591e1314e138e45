#include "serve/batcher.h"

#include "kernels/parallel.h"

namespace medvqa::serve {
namespace {

bool compatible(const infer::AnswerOptions& a, const infer::AnswerOptions& b) {
  return a.max_new_tokens == b.max_new_tokens && a.temperature == b.temperature && a.seed == b.seed &&
         a.rank_closed == b.rank_closed && a.min_confidence == b.min_confidence;
}

}  // namespace

Batcher::Batcher(RunBatch run, Options options) : run_(std::move(run)), options_(options) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  // The worker runs the model from here on; the idle team of the thread that loaded it would
  // make every barrier of the worker's team sleep (see release_parallel_threads).
  kernels::release_parallel_threads();
  worker_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::future<Batcher::Result> Batcher::submit(image::Image image, std::string question, infer::AnswerOptions options,
                                             std::vector<infer::Turn> history, infer::TextSink sink) {
  Job job{std::move(image),  std::move(question), options, std::move(history), std::move(sink), {},
          std::chrono::steady_clock::now()};
  auto future = job.promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw QueueFull("the server is shutting down");
    if (queue_.size() >= options_.capacity)
      throw QueueFull("the server is busy: " + std::to_string(queue_.size()) + " requests are waiting");
    queue_.push_back(std::move(job));
  }
  wake_.notify_all();
  return future;
}

size_t Batcher::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

// Waits for a first request, then up to max_wait (from its arrival) for more with the same options.
std::vector<Batcher::Job> Batcher::take_batch(std::unique_lock<std::mutex>& lock) {
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  const auto deadline = queue_.front().submitted + options_.max_wait;
  auto ready = [&] {
    size_t n = 0;
    for (const auto& j : queue_) n += compatible(j.options, queue_.front().options);
    return stopping_ || n >= options_.max_batch;
  };
  if (options_.max_batch > 1) wake_.wait_until(lock, deadline, ready);
  std::vector<Job> batch;
  const infer::AnswerOptions first = queue_.front().options;
  for (auto it = queue_.begin(); it != queue_.end() && batch.size() < options_.max_batch;) {
    if (compatible(it->options, first)) {
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void Batcher::loop() {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      batch = take_batch(lock);
      if (batch.empty()) return;  // stopping, and nothing left
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<image::Image> images;
    std::vector<std::string> questions;
    std::vector<std::vector<infer::Turn>> histories;
    std::vector<infer::TextSink> sinks;
    for (auto& j : batch) {
      images.push_back(std::move(j.image));
      questions.push_back(j.question);
      histories.push_back(std::move(j.history));
      sinks.push_back(j.sink);
    }
    try {
      auto answers = run_(images, questions, histories, batch.front().options, sinks);
      if (answers.size() != batch.size()) throw Error("batch returned the wrong number of answers");
      for (size_t i = 0; i < batch.size(); ++i)
        batch[i].promise.set_value({std::move(answers[i]),
                                    std::chrono::duration<double>(start - batch[i].submitted).count(), batch.size()});
    } catch (...) {
      for (auto& j : batch) j.promise.set_exception(std::current_exception());
    }
  }
}

}  // namespace medvqa::serve
