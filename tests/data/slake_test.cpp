// SLAKE train/validate.json from ../shared/data: language selection, "None" answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "data/readers.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;

class Slake : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = medvqa::testing::data_root() + "/slake";
    if (!fs::exists(dir_ + "/train.json")) MEDVQA_SKIP_MISSING_FIXTURE("no " << dir_);
  }
  std::string dir_;
};

TEST_F(Slake, EnglishByDefault) {
  ReadReport report;
  const auto train = read_slake(dir_ + "/train.json", "", {}, &report);
  EXPECT_EQ(report.rows, 9043u);
  EXPECT_EQ(report.filtered, 9043u - 4919u);
  // One English row has an empty answer (qid 1622, "Does the picture contain liver?").
  ASSERT_EQ(report.skipped, std::vector<std::string>{"row 1623: empty answer"});
  EXPECT_EQ(report.kept, 4918u);
  ASSERT_EQ(train.size(), 4918u);
  for (const auto& ex : train) {
    EXPECT_EQ(ex.language, "en");
    EXPECT_EQ(ex.split, "train");
  }
}

TEST_F(Slake, AllLanguagesAndChineseOnly) {
  ReadOptions all;
  all.languages = {};
  ReadReport report;
  const auto every = read_slake(dir_ + "/train.json", "", all, &report);
  EXPECT_EQ(every.size(), 9042u);
  EXPECT_EQ(report.filtered, 0u);
  EXPECT_EQ(report.rows, report.kept + report.filtered + report.skipped.size());

  ReadOptions zh;
  zh.languages = {"zh"};
  const auto chinese = read_slake(dir_ + "/train.json", "", zh);
  ASSERT_EQ(chinese.size(), 4124u);
  EXPECT_EQ(chinese.front().id, "4919");
  EXPECT_EQ(chinese.front().question, "这张图片的成像方式是什么?");
  EXPECT_EQ(chinese.front().answer, "MRI");
  EXPECT_EQ(chinese[1].answer, "腹部");
  EXPECT_EQ(chinese[1].question_type, "Position");
  EXPECT_EQ(chinese.front().language, "zh");
}

TEST_F(Slake, ValidateSplitKnownRow) {
  ReadReport report;
  const auto val = read_slake(dir_ + "/validate.json", "", {}, &report);
  EXPECT_EQ(val.size(), 1053u);
  EXPECT_TRUE(report.skipped.empty());
  const VqaExample& ex = val.front();
  EXPECT_EQ(ex.id, "9835");
  EXPECT_EQ(ex.question, "What modality is used to take this image?");
  EXPECT_EQ(ex.answer, "MRI");
  EXPECT_EQ(ex.answer_type, "OPEN");
  EXPECT_EQ(ex.question_type, "Modality");
  EXPECT_EQ(ex.split, "val");
  EXPECT_EQ(fs::path(ex.image_path), fs::path(dir_) / "imgs/xmlab0/source.jpg");
  EXPECT_TRUE(fs::exists(ex.image_path));
  // What the row and the image folder's detection.json say about the image itself.
  EXPECT_EQ(ex.image_attributes, (std::vector<std::pair<std::string, std::string>>{
                                     {"modality", "MRI"}, {"location", "Abdomen"},
                                     {"organs", "Liver, Left Kidney, Right Kidney, Spleen"}}));
  std::map<std::string, size_t> types;
  for (const auto& e : val) ++types[e.answer_type];
  EXPECT_EQ(types.size(), 2u);
  EXPECT_GT(types["CLOSED"], 0u);
}

// The README counts 44 "None" answers over all three splits; train and validate hold 29 + 6.
TEST_F(Slake, NoneIsAnAnswer) {
  size_t none = 0;
  for (const char* split : {"/train.json", "/validate.json"})
    for (const auto& ex : read_slake(dir_ + split))
      if (ex.answer == "None") ++none;
  EXPECT_EQ(none, 35u);
  const auto train = read_slake(dir_ + "/train.json");
  const auto it = std::find_if(train.begin(), train.end(), [](const VqaExample& e) { return e.id == "39"; });
  ASSERT_NE(it, train.end());
  EXPECT_EQ(it->question, "What diseases are included in the picture?");
  EXPECT_EQ(it->answer, "None");
  EXPECT_EQ(fs::path(it->image_path).parent_path().filename(), "xmlab107");
}

}  // namespace
}  // namespace medvqa::data
