// A model config that could not answer is refused when it is read, naming the field.
#include <gtest/gtest.h>

#include "io/error.h"
#include "model/config.h"
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

}  // namespace
}  // namespace medvqa::model
