#include "helpers.h"

#include <fstream>
#include <sstream>

#include "io/error.h"

namespace medvqa::testing {

::testing::AssertionResult throws_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const medvqa::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << p << "\": " << msg;
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than medvqa::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "nothing thrown";
}

::testing::AssertionResult bit_equal(const torch::Tensor& actual, const torch::Tensor& expected,
                                     const std::string& what) {
  if (actual.scalar_type() != expected.scalar_type())
    return ::testing::AssertionFailure() << what << ": dtype " << actual.scalar_type()
                                         << " != " << expected.scalar_type();
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << what << ": shape " << actual.sizes() << " != " << expected.sizes();
  auto bytes = [](const torch::Tensor& t) { return t.contiguous().reshape({-1}).view(torch::kUInt8); };
  if (!torch::equal(bytes(actual), bytes(expected)))
    return ::testing::AssertionFailure() << what << ": contents differ";
  return ::testing::AssertionSuccess();
}

}  // namespace medvqa::testing
