// VQA-RAD trainset.json from ../shared/data, and the quirks its README lists.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "data/readers.h"
#include "io/error.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;

class VqaRad : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = medvqa::testing::data_root() + "/vqa-rad/trainset.json";
    if (!fs::exists(path_)) MEDVQA_SKIP_MISSING_FIXTURE("no " << path_);
    examples_ = read_vqa_rad(path_, "", {}, &report_);
    for (const auto& ex : examples_) by_id_[ex.id] = &ex;
  }
  const VqaExample& id(const std::string& qid) {
    EXPECT_EQ(by_id_.count(qid), 1u) << qid;
    return *by_id_.at(qid);
  }
  std::string path_;
  ReadReport report_;
  std::vector<VqaExample> examples_;
  std::map<std::string, const VqaExample*> by_id_;
};

TEST_F(VqaRad, CountsFromTheReadme) {
  EXPECT_EQ(report_.rows, 3064u);
  EXPECT_EQ(report_.kept, 3064u);
  EXPECT_EQ(report_.filtered, 0u);
  EXPECT_TRUE(report_.skipped.empty());
  ASSERT_EQ(examples_.size(), 3064u);
  std::set<std::string> images;
  for (const auto& ex : examples_) images.insert(ex.image_path);
  EXPECT_EQ(images.size(), 314u);  // 315 files, synpic35356 unused
}

TEST_F(VqaRad, FirstRow) {
  const VqaExample& ex = examples_.front();
  EXPECT_EQ(ex.id, "1");
  EXPECT_EQ(ex.question, "Are regions of the brain infarcted?");
  EXPECT_EQ(ex.answer, "Yes");
  EXPECT_EQ(ex.answer_type, "CLOSED");
  EXPECT_EQ(ex.question_type, "PRES");
  EXPECT_EQ(ex.language, "en");
  EXPECT_EQ(ex.split, "train");
  EXPECT_EQ(fs::path(ex.image_path), fs::path(medvqa::testing::data_root()) / "vqa-rad/images/synpic54610.jpg");
  EXPECT_TRUE(ex.choices.empty());
}

TEST_F(VqaRad, NumberAnswersBecomeText) {
  EXPECT_EQ(id("2392").answer, "4");
  EXPECT_EQ(id("2485").answer, "2");
  EXPECT_EQ(id("3497").answer, "12");
}

TEST_F(VqaRad, AnswerTypeWithTrailingSpace) {
  EXPECT_EQ(id("3371").answer_type, "CLOSED");
  EXPECT_EQ(id("3372").answer_type, "CLOSED");
  std::map<std::string, size_t> types;
  for (const auto& ex : examples_) ++types[ex.answer_type];
  EXPECT_EQ(types, (std::map<std::string, size_t>{{"CLOSED", 1823}, {"OPEN", 1241}}));
}

TEST_F(VqaRad, StraySpacesAreCleaned) {
  EXPECT_EQ(id("3504").answer, "superficial to the patient's skin");
  EXPECT_EQ(id("303").question, "What is/are the abnormalities near/in the lung?");
  for (const auto& ex : examples_) {
    EXPECT_EQ(ex.question.find("  "), std::string::npos) << ex.id;
    EXPECT_NE(ex.answer.front(), ' ') << ex.id;
    EXPECT_NE(ex.question.back(), ' ') << ex.id;
  }
}

TEST_F(VqaRad, QuestionTypesAreCodes) {
  EXPECT_EQ(id("511").question_type, "OTHER");   // "Other"
  EXPECT_EQ(id("3179").question_type, "ATTRIB");  // "ATRIB"
  EXPECT_EQ(id("3457").question_type, "PRES");    // "PRSE"
  std::set<std::string> types;
  for (const auto& ex : examples_) types.insert(ex.question_type);
  EXPECT_EQ(types.count("PRES, ATTRIB"), 1u);  // compound types stay as written
  for (const char* slip : {"Other", "ATRIB", "PRSE"}) EXPECT_EQ(types.count(slip), 0u) << slip;
}

TEST_F(VqaRad, NotEveryClosedAnswerIsYesNo) {
  EXPECT_EQ(id("3504").answer_type, "CLOSED");
  size_t other = 0;
  for (const auto& ex : examples_)
    if (ex.answer_type == "CLOSED" && ex.answer != "Yes" && ex.answer != "No" && ex.answer != "yes" && ex.answer != "no")
      ++other;
  EXPECT_GT(other, 50u);
}

TEST_F(VqaRad, LanguageSelectionLeavesEnglishOut) {
  ReadOptions zh_only;
  zh_only.languages = {"zh"};
  ReadReport report;
  EXPECT_TRUE(read_vqa_rad(path_, "", zh_only, &report).empty());
  EXPECT_EQ(report.filtered, 3064u);
  EXPECT_TRUE(report.skipped.empty());
}

TEST_F(VqaRad, SplitOptionOverridesFileName) {
  ReadOptions options;
  options.split = "test";
  EXPECT_EQ(read_vqa_rad(path_, "", options).front().split, "test");
}

TEST_F(VqaRad, WrongImagesDirFailsLoudly) {
  try {
    read_vqa_rad(path_, medvqa::testing::data_root() + "/slake/imgs");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trainset.json: row 1: image not found"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace medvqa::data
