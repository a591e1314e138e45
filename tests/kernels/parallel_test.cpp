// parallel_for_each: every item once, on the OpenMP threads, and errors come back to the caller;
// release_parallel_threads ends the caller's idle team.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "io/error.h"
#include "kernels/parallel.h"

namespace medvqa::kernels {
namespace {

TEST(ParallelForEach, RunsEveryItemOnce) {
  std::vector<std::atomic<int>> seen(1000);
  parallel_for_each(1000, [&](int64_t i) { seen[size_t(i)]++; });
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  parallel_for_each(0, [](int64_t) { FAIL() << "no items, no calls"; });
}

// The kernels library is the code built with OpenMP: without the flag this loop would run on the
// calling thread alone.
TEST(ParallelForEach, RunsOnSeveralThreads) {
  if (omp_get_max_threads() < 2) GTEST_SKIP() << "one OpenMP thread here";
  std::vector<int> thread_of(64, -1);
  parallel_for_each(64, [&](int64_t i) {
    thread_of[size_t(i)] = omp_get_thread_num();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // long enough that no thread takes every item
  });
  std::set<int> threads(thread_of.begin(), thread_of.end());
  EXPECT_GT(threads.size(), 1u);
  EXPECT_EQ(threads.count(-1), 0u);
}

TEST(ParallelForEach, RethrowsTheFirstErrorAfterAllItemsRan) {
  std::atomic<int> ran{0};
  try {
    parallel_for_each(8, [&](int64_t i) {
      ran++;
      if (i == 3) throw Error("item 3 is corrupt");
    });
    FAIL() << "expected the item's error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "item 3 is corrupt");
  }
  EXPECT_EQ(ran.load(), 8);
}

size_t threads_of_this_process() {
  const auto tasks = std::filesystem::directory_iterator("/proc/self/task");
  return size_t(std::distance(begin(tasks), end(tasks)));
}

TEST(ReleaseParallelThreads, EndsTheCallersWorkersAndTheNextLoopStartsThemAgain) {
  const int team = omp_get_max_threads();  // a parallel region's threads: this one and team - 1 workers
  if (team < 2) GTEST_SKIP() << "one OpenMP thread here: no workers to release";
  parallel_for_each(2, [](int64_t) {});
  const size_t before = threads_of_this_process();
  EXPECT_TRUE(release_parallel_threads());
  // Read from /proc: allow the ended workers a moment to disappear from it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (threads_of_this_process() > before - size_t(team - 1) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(threads_of_this_process(), before - size_t(team - 1));
  parallel_for_each(2, [](int64_t) {});
  EXPECT_EQ(threads_of_this_process(), before);
}

}  // namespace
}  // namespace medvqa::kernels
