#pragma once
// Tests that need something outside the checkout (../shared's golden sets and datasets, a browser)
// skip where it is missing, so that a checkout alone still passes what it can; with
// MEDVQA_REQUIRE_FIXTURES set (scripts/test.sh sets it, so CI does) a missing fixture fails instead:
// CI must not pass by skipping.
#include <gtest/gtest.h>

#include <cstdlib>

namespace medvqa::testing {

inline bool fixtures_required() { return std::getenv("MEDVQA_REQUIRE_FIXTURES") != nullptr; }

}  // namespace medvqa::testing

// In a test body or SetUp: skips (or fails, see above) with `message` saying what is missing.
#define MEDVQA_SKIP_MISSING_FIXTURE(message)                                                 \
  do {                                                                                       \
    if (::medvqa::testing::fixtures_required()) FAIL() << "missing fixture: " << message;    \
    GTEST_SKIP() << message;                                                                 \
  } while (0)
