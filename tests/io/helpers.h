#pragma once
#include <gtest/gtest.h>
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace medvqa::testing {

// Success when `f` throws medvqa::Error whose message contains every one of `parts` (typically
// the file's path and the specific problem); any other outcome is a failure quoting the message.
::testing::AssertionResult throws_error(const std::function<void()>& f, const std::vector<std::string>& parts);

// True when both tensors have the same dtype, shape and bytes (so NaN payloads and -0 count too).
::testing::AssertionResult bit_equal(const torch::Tensor& actual, const torch::Tensor& expected,
                                     const std::string& what);

}  // namespace medvqa::testing
