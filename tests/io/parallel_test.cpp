// parallel_for_each: every item once, on the OpenMP threads, and errors come back to the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "io/error.h"
#include "io/parallel.h"

namespace medvqa {
namespace {

TEST(ParallelForEach, RunsEveryItemOnce) {
  std::vector<std::atomic<int>> seen(1000);
  parallel_for_each(1000, [&](int64_t i) { seen[size_t(i)]++; });
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  parallel_for_each(0, [](int64_t) { FAIL() << "no items, no calls"; });
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

}  // namespace
}  // namespace medvqa
