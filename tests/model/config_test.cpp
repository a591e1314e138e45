// A model config that could not answer is refused when it is read, naming the field; a device
// name that this build cannot compute on is refused naming the device.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "io/error.h"
#include "model/config.h"
#include "model/pretrained.h"
#include "testing/testing.h"

namespace medvqa::model {
namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    MedVqaConfig::from_json(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MedVqaConfig, RefusesConfigsThatCannotAnswer) {
  const auto tiny = read_json_file(testing::source_dir() + "/configs/models/tiny.json");
  EXPECT_EQ(error_of(tiny), "");
  auto no_tokens = tiny;
  no_tokens["max_new_tokens"] = 0;
  EXPECT_NE(error_of(no_tokens).find("max_new_tokens"), std::string::npos) << error_of(no_tokens);
  auto no_slot = tiny;
  no_slot["prompt_template"] = "Question: Answer:";
  EXPECT_NE(error_of(no_slot).find("{question}"), std::string::npos) << error_of(no_slot);
}

std::string device_error(const std::string& name) {
  try {
    parse_device(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ParseDevice, AcceptsCpuAndCudaWhereThereIsOneAndNamesTheProblemOtherwise) {
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  for (const char* bad : {"gpu", "cuda:x", "", "metal"})
    EXPECT_NE(device_error(bad).find("unknown device"), std::string::npos) << bad << ": " << device_error(bad);
  const int64_t gpus = torch::cuda::is_available() ? int64_t(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    EXPECT_NE(device_error("cuda").find("no CUDA device"), std::string::npos) << device_error("cuda");
  } else {
    EXPECT_EQ(parse_device("cuda:0"), torch::Device(torch::kCUDA, 0));
    EXPECT_NE(device_error("cuda:" + std::to_string(gpus)).find("CUDA device(s)"), std::string::npos);
  }
}

}  // namespace
}  // namespace medvqa::model
