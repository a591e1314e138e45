// ImageCLEF VQA-Med 2019 pipe-separated QA files.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/files.h"
#include "data/readers.h"
#include "io/error.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;
using test_files::touch_images;
using test_files::write_file;

size_t count_closed(const std::vector<VqaExample>& examples) {
  return size_t(std::count_if(examples.begin(), examples.end(),
                              [](const VqaExample& e) { return e.answer_type == "CLOSED"; }));
}

TEST(VqaMed2019, SharedTrainAndValidation) {
  const std::string root = medvqa::testing::data_root() + "/vqa-med-2019";
  if (!fs::exists(root)) MEDVQA_SKIP_MISSING_FIXTURE("no " << root);
  ReadReport report;
  const auto train = read_vqa_med_2019(root + "/training/All_QA_Pairs_train.txt", "", {}, &report);
  EXPECT_EQ(report.rows, 12664u);
  EXPECT_TRUE(report.skipped.empty());
  ASSERT_EQ(train.size(), 12664u);
  const VqaExample& first = train.front();
  EXPECT_EQ(first.id, "All_QA_Pairs_train:1");
  EXPECT_EQ(first.question, "what kind of image is this?");
  EXPECT_EQ(first.answer, "cta - ct angiography");
  EXPECT_EQ(first.answer_type, "OPEN");
  EXPECT_EQ(first.split, "train");
  EXPECT_EQ(fs::path(first.image_path), fs::path(root) / "training/train_images/synpic41148.jpg");
  EXPECT_EQ(train[1].answer, "no");
  EXPECT_EQ(train[1].answer_type, "CLOSED");
  EXPECT_EQ(train[99].question, "is this a ct scan?");
  EXPECT_EQ(count_closed(train), 1286u);  // the yes/no rows
  // The shared copy has no QAPairsByCategory/ folder, so no category is known.
  EXPECT_EQ(train.front().question_type, "");

  const auto val = read_vqa_med_2019(root + "/validation/All_QA_Pairs_val.txt");
  ASSERT_EQ(val.size(), 1976u);
  EXPECT_EQ(val.front().split, "val");
  EXPECT_EQ(count_closed(val), 202u);
  EXPECT_EQ(fs::path(val.front().image_path).parent_path().filename(), "val_images");
}

TEST(VqaMed2019, CategoriesFromTheCategoryFiles) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("training/train_images"), {"synpic1.jpg", "synpic2.jpg", "synpic3.jpg"});
  write_file(tmp.file("training/All_QA_Pairs_train.txt"),
             "synpic1|what modality is this?|ct\nsynpic2|which plane is this?|axial\n"
             "synpic3|is this abnormal?|yes\n");
  write_file(tmp.file("training/QAPairsByCategory/C1_Modality_train.txt"), "synpic1|what modality is this?|ct\n");
  write_file(tmp.file("training/QAPairsByCategory/C2_Plane_train.txt"), "synpic2|which plane is this?|axial\n");
  const auto all = read_vqa_med_2019(tmp.file("training/All_QA_Pairs_train.txt"));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].question_type, "modality");
  EXPECT_EQ(all[1].question_type, "plane");
  EXPECT_EQ(all[2].question_type, "");
  EXPECT_EQ(all[2].answer_type, "CLOSED");

  // A category file read on its own: category from its name, images one folder up.
  const auto plane = read_vqa_med_2019(tmp.file("training/QAPairsByCategory/C2_Plane_train.txt"));
  ASSERT_EQ(plane.size(), 1u);
  EXPECT_EQ(plane[0].question_type, "plane");
  EXPECT_EQ(plane[0].split, "train");
  EXPECT_EQ(fs::path(plane[0].image_path), fs::path(tmp.file("training/train_images/synpic2.jpg")));
}

TEST(VqaMed2019, TestFileWithCategoryColumn) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("VQAMed2019_Test_Images"), {"synpic54082.jpg", "synpic7.jpg"});
  write_file(tmp.file("VQAMed2019_Test_Questions_w_Ref_Answers.txt"),
             "synpic54082|modality|what imaging method was used?|us\r\n\r\nsynpic7|abnormality|is this normal?|No\r\n");
  ReadReport report;
  const auto test = read_vqa_med_2019(tmp.file("VQAMed2019_Test_Questions_w_Ref_Answers.txt"), "", {}, &report);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(report.rows, 2u);
  EXPECT_EQ(test[0].question_type, "modality");
  EXPECT_EQ(test[0].answer, "us");  // CRLF left no '\r'
  EXPECT_EQ(test[0].split, "test");
  EXPECT_EQ(test[1].id, "VQAMed2019_Test_Questions_w_Ref_Answers:3");
  EXPECT_EQ(test[1].answer_type, "CLOSED");
}

TEST(VqaMed2019, MalformedLinesAndSkips) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("images"), {"synpic1.jpg"});
  write_file(tmp.file("a_train.txt"), "synpic1|q?|a\nsynpic1|only two\n");
  try {
    read_vqa_med_2019(tmp.file("a_train.txt"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a_train.txt: row 2: expected synpicID|question|answer"), std::string::npos)
        << e.what();
  }
  write_file(tmp.file("b_train.txt"), "synpic1|q?|\nsynpic1||a\nsynpic9|q?|a\nsynpic1|q?|a\n");
  ReadOptions lenient;
  lenient.require_images = false;
  ReadReport report;
  const auto kept = read_vqa_med_2019(tmp.file("b_train.txt"), "", lenient, &report);
  EXPECT_EQ(kept.size(), 1u);
  ASSERT_EQ(report.skipped.size(), 3u);
  EXPECT_EQ(report.skipped[0], "row 1: empty answer");
  EXPECT_EQ(report.skipped[1], "row 2: missing question");
  EXPECT_EQ(report.skipped[2].rfind("row 3: image not found: ", 0), 0u) << report.skipped[2];
}

TEST(VqaMed2019, AmbiguousImageFolderNeedsImagesDir) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("train_images"), {"synpic1.jpg"});
  touch_images(tmp.file("val_images"), {"synpic1.jpg"});
  write_file(tmp.file("x.txt"), "synpic1|q?|a\n");
  EXPECT_THROW(read_vqa_med_2019(tmp.file("x.txt")), Error);
  EXPECT_EQ(read_vqa_med_2019(tmp.file("x.txt"), tmp.file("val_images")).size(), 1u);
}

}  // namespace
}  // namespace medvqa::data
