// Training configs: "extends" restates only what differs from a base config; unknown keys are errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "testing/testing.h"
#include "train/config.h"

namespace medvqa::train {
namespace {

void write(const std::string& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(2); }

TEST(TrainConfig, ExtendsMergesOverTheBaseAndNullRemovesAField) {
  testing::TempDir tmp;
  write(tmp.file("base.json"), {{"name", "base"},
                                {"output_dir", "runs/base"},
                                {"init_model", "runs/previous/best"},
                                {"train", {{{"format", "slake"}, {"path", "data/train.json"}}}},
                                {"lr", 5e-4},
                                {"max_steps", 600}});
  write(tmp.file("variant.json"), {{"extends", "base.json"},
                                   {"name", "variant"},
                                   {"init_model", nullptr},
                                   {"model_config", "models/small.json"},
                                   {"tokenizer", "tok.json"},
                                   {"lr", 1e-3}});
  auto c = TrainConfig::from_file(tmp.file("variant.json"));
  EXPECT_EQ(c.name, "variant");
  EXPECT_DOUBLE_EQ(c.lr, 1e-3);
  EXPECT_EQ(c.max_steps, 600);
  EXPECT_TRUE(c.init_model.empty());
  EXPECT_EQ(c.model_config, tmp.file("models/small.json"));
  ASSERT_EQ(c.train.size(), 1u);
  EXPECT_EQ(c.train[0].path, tmp.file("data/train.json"));
}

TEST(TrainConfig, ExtendsRejectsCyclesAndOtherDirectories) {
  testing::TempDir tmp;
  write(tmp.file("a.json"), {{"extends", "b.json"}});
  write(tmp.file("b.json"), {{"extends", "a.json"}});
  EXPECT_THROW(TrainConfig::from_file(tmp.file("a.json")), Error);
  std::filesystem::create_directories(tmp.file("sub"));
  write(tmp.file("sub/base.json"), {{"name", "x"}});
  write(tmp.file("c.json"), {{"extends", "sub/base.json"}});
  EXPECT_THROW(TrainConfig::from_file(tmp.file("c.json")), Error);
}

nlohmann::json minimal_config() {
  return {{"_comment", "comments start with an underscore"},
          {"init_model", "runs/previous/best"},
          {"train", {{{"format", "slake"}, {"path", "data/train.json"}}}}};
}

// Returns the message of the Error that loading `j` as tmp/config.json throws ("" if none).
std::string load_error(testing::TempDir& tmp, const nlohmann::json& j) {
  write(tmp.file("config.json"), j);
  try {
    TrainConfig::from_file(tmp.file("config.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, AnUnknownFieldIsAnErrorNamingItAndTheFile) {
  testing::TempDir tmp;
  EXPECT_EQ(load_error(tmp, minimal_config()), "");
  auto typo = minimal_config();
  typo["learning_rate"] = 1e-3;
  auto message = load_error(tmp, typo);
  EXPECT_NE(message.find("'learning_rate'"), std::string::npos) << message;
  EXPECT_NE(message.find(tmp.file("config.json")), std::string::npos) << message;
  auto source_typo = minimal_config();
  source_typo["train"][0]["holdout_fractoin"] = 0.1;
  message = load_error(tmp, source_typo);
  EXPECT_NE(message.find("'holdout_fractoin'"), std::string::npos) << message;
  EXPECT_NE(message.find("data source"), std::string::npos) << message;
  auto not_object = minimal_config();
  not_object["train"] = {"data/train.json"};
  EXPECT_NE(load_error(tmp, not_object), "");
}

TEST(TrainConfig, WritesEveryFieldItReads) {
  testing::TempDir tmp;
  auto j = minimal_config();
  j["lr"] = 3e-4;
  j["eval_blank_images"] = true;
  j["history_probability"] = 0.25;
  j["label_smoothing"] = 0.1;
  j["lr_scales"] = {{"qformer.", 5.0}};
  j["prompt_template"] = "Q: {question} A:";
  j["train"][0]["weight"] = 1.5;
  write(tmp.file("config.json"), j);
  auto c = TrainConfig::from_file(tmp.file("config.json"));
  auto written = c.to_json();
  // The written config reads back as the same config (paths are absolute by then).
  auto again = TrainConfig::from_json(written, "/elsewhere");
  EXPECT_EQ(again.to_json(), written);
  EXPECT_DOUBLE_EQ(again.lr, 3e-4);
  EXPECT_TRUE(again.eval_blank_images);
  EXPECT_DOUBLE_EQ(again.history_probability, 0.25);
  EXPECT_DOUBLE_EQ(again.label_smoothing, 0.1);
  EXPECT_DOUBLE_EQ(again.lr_scales.at("qformer."), 5.0);
  EXPECT_EQ(again.prompt_template.value_or(""), "Q: {question} A:");
  EXPECT_DOUBLE_EQ(again.train.at(0).weight, 1.5);
}

TEST(TrainConfig, EveryConfigOfTheRepositoryLoads) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_dir() + "/configs/train")) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().stem().string();
    auto c = TrainConfig::from_file(entry.path().string());
    EXPECT_EQ(c.name, name);
    EXPECT_FALSE(c.train.empty()) << name;
    EXPECT_TRUE(c.compute_dtype() == torch::kBFloat16 || c.compute_dtype() == torch::kFloat32) << name;
    ++n;
  }
  EXPECT_GE(n, 20u);
  // Every ablation row changes one thing of the common budget, which is stage 3 shortened.
  auto budget = TrainConfig::from_file(testing::source_dir() + "/configs/train/ablation-budget.json");
  auto shipped = TrainConfig::from_file(testing::source_dir() + "/configs/train/small-3-slake-vqa-rad.json");
  EXPECT_LT(budget.max_steps, shipped.max_steps);
  EXPECT_TRUE(budget.eval_blank_images);
  EXPECT_EQ(TrainConfig::from_file(testing::source_dir() + "/configs/train/small-0a-clip.json").kind, "contrastive");
}

}  // namespace
}  // namespace medvqa::train
