// PMC-VQA csv and PMC-OA jsonl, the paper's full-scale formats, on small files written here.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "data/files.h"
#include "data/readers.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;
using test_files::touch_images;
using test_files::write_file;

using testing::error_of;

TEST(PmcVqa, ReadsQuotedRowsAndChoices) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("images"), {"PMC1_Fig1.jpg", "PMC2_Fig3.jpg", "PMC3_Fig2.jpg"});
  write_file(tmp.file("train.csv"),
             "Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label\r\n"
             "PMC1_Fig1.jpg,What is the most likely diagnosis based on the CT scan?,Pancreatic cancer,"
             "A:Pancreatic cancer ,B:Liver cancer ,C:Gallbladder cancer ,D:Colon cancer ,A\r\n"
             "PMC2_Fig3.jpg,\"Which lesion, if any, is \"\"hot\"\"?\",\"Left, upper\",\"A: Left, upper\","
             "B: Right,C: None,\"D: Both\nsides\",A\r\n"
             "PMC3_Fig2.jpg,What is shown?,,A:MRI,B:CT,C:X-ray,D:US,C\r\n");
  ReadReport report;
  const auto rows = read_vqa("pmc-vqa", tmp.file("train.csv"), "", {}, &report);
  EXPECT_EQ(report.rows, 3u);
  EXPECT_TRUE(report.skipped.empty());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].question, "What is the most likely diagnosis based on the CT scan?");
  EXPECT_EQ(rows[0].answer, "Pancreatic cancer");
  EXPECT_EQ(rows[0].choices,
            (std::vector<std::string>{"Pancreatic cancer", "Liver cancer", "Gallbladder cancer", "Colon cancer"}));
  EXPECT_EQ(rows[0].answer_type, "");
  EXPECT_EQ(rows[0].language, "en");
  EXPECT_EQ(rows[0].split, "train");
  EXPECT_EQ(rows[0].id, "train:2");
  EXPECT_EQ(fs::path(rows[0].image_path), fs::path(tmp.file("images/PMC1_Fig1.jpg")));
  EXPECT_EQ(rows[1].question, "Which lesion, if any, is \"hot\"?");
  EXPECT_EQ(rows[1].answer, "Left, upper");
  EXPECT_EQ(rows[1].choices, (std::vector<std::string>{"Left, upper", "Right", "None", "Both sides"}));
  EXPECT_EQ(rows[2].id, "train:5");  // the quoted newline moved it a line down
  EXPECT_EQ(rows[2].answer, "X-ray");  // from Answer_label
}

TEST(PmcVqa, ExtraColumnsAnySplitColumnAndSkips) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("figs"), {"a.jpg"});
  write_file(tmp.file("x.csv"),
             "index,Figure_path,Caption,Question,Answer,split\n"
             "0,a.jpg,cap,Q1?,yes,test\n"
             "1,a.jpg,cap,,yes,test\n"
             "2,a.jpg,cap,Q3?,,test\n"
             "3,missing.jpg,cap,Q4?,no,test\n");
  ReadOptions lenient;
  lenient.require_images = false;
  ReadReport report;
  const auto rows = read_pmc_vqa(tmp.file("x.csv"), tmp.file("figs"), lenient, &report);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].split, "test");
  EXPECT_TRUE(rows[0].choices.empty());
  ASSERT_EQ(report.skipped.size(), 3u);
  EXPECT_EQ(report.skipped[0], "row 3: missing question");
  EXPECT_EQ(report.skipped[1], "row 4: empty answer");
  EXPECT_EQ(report.skipped[2].rfind("row 5: image not found: ", 0), 0u);
  EXPECT_NE(error_of([&] { read_pmc_vqa(tmp.file("x.csv"), tmp.file("figs")); }).find("x.csv: row 5: image not found"),
            std::string::npos);
}

TEST(PmcVqa, MalformedFiles) {
  medvqa::testing::TempDir tmp;
  write_file(tmp.file("empty.csv"), "");
  EXPECT_NE(error_of([&] { read_pmc_vqa(tmp.file("empty.csv")); }).find("empty.csv: empty file"), std::string::npos);
  write_file(tmp.file("nocol.csv"), "Figure_path,Question,Choice A\na.jpg,q,A:x\n");
  EXPECT_NE(error_of([&] { read_pmc_vqa(tmp.file("nocol.csv")); }).find("missing column \"Answer\""), std::string::npos);
  write_file(tmp.file("short.csv"), "Figure_path,Question,Answer\na.jpg,q\n");
  EXPECT_NE(error_of([&] { read_pmc_vqa(tmp.file("short.csv")); }).find("short.csv: row 2: 2 fields, the header has 3"),
            std::string::npos);
  write_file(tmp.file("quote.csv"), "Figure_path,Question,Answer\na.jpg,\"q,a\n");
  EXPECT_NE(error_of([&] { read_pmc_vqa(tmp.file("quote.csv")); }).find("unterminated quoted field"), std::string::npos);
}

TEST(PmcOa, ReadsJsonLines) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("images"), {"PMC1_F1.jpg", "PMC2_F2.jpg"});
  write_file(tmp.file("pmc_oa.jsonl"),
             "{\"image\": \"PMC1_F1.jpg\", \"caption\": \"Axial CT, showing a mass.\\nSecond line\"}\n"
             "\n"
             "{\"image\": \"PMC2_F2.jpg\", \"caption\": \"  \"}\n"
             "{\"image\": \"PMC2_F2.jpg\", \"caption\": \"MRI of the knee\", \"extra\": 1}\n");
  ReadReport report;
  const auto rows = read_captions("pmc-oa", tmp.file("pmc_oa.jsonl"), "", {}, &report);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(report.rows, 3u);
  EXPECT_EQ(report.skipped, std::vector<std::string>{"row 3: empty caption"});
  EXPECT_EQ(rows[0].caption, "Axial CT, showing a mass. Second line");
  EXPECT_EQ(rows[0].id, "pmc_oa:1");
  EXPECT_EQ(fs::path(rows[0].image_path), fs::path(tmp.file("images/PMC1_F1.jpg")));
  EXPECT_EQ(rows[1].id, "pmc_oa:4");
}

TEST(PmcOa, MalformedLines) {
  medvqa::testing::TempDir tmp;
  touch_images(tmp.file("images"), {"a.jpg"});
  write_file(tmp.file("bad.jsonl"), "{\"image\": \"a.jpg\", \"caption\": \"ok\"}\n{\"image\": \"a.jpg\", \n");
  EXPECT_NE(error_of([&] { read_pmc_oa(tmp.file("bad.jsonl")); }).find("bad.jsonl: row 2: invalid JSON"),
            std::string::npos);
  write_file(tmp.file("nokey.jsonl"), "{\"img\": \"a.jpg\", \"caption\": \"ok\"}\n");
  EXPECT_NE(error_of([&] { read_pmc_oa(tmp.file("nokey.jsonl")); }).find("row 1: missing field \"image\""),
            std::string::npos);
  write_file(tmp.file("array.jsonl"), "[1, 2]\n");
  EXPECT_NE(error_of([&] { read_pmc_oa(tmp.file("array.jsonl")); }).find("row 1: expected an object"),
            std::string::npos);
}

}  // namespace
}  // namespace medvqa::data
