// Malformed files, missing images and skip reporting, on small JSON files written here.
#include <gtest/gtest.h>

#include <functional>

#include "data/files.h"
#include "data/readers.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {
using test_files::touch_images;
using test_files::write_file;

using testing::error_of;

#define EXPECT_ERROR(call, fragment)                                                         \
  do {                                                                                       \
    const std::string message = error_of([&] { call; });                                     \
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;          \
  } while (0)

std::string rad_row(const std::string& qid, const std::string& image, const std::string& question,
                    const std::string& answer) {
  return R"({"qid": )" + qid + R"(, "image_name": ")" + image + R"(", "question": )" + question +
         R"(, "answer": )" + answer + R"(, "answer_type": "OPEN", "question_type": "PRES"})";
}

class JsonReaders : public ::testing::Test {
 protected:
  void SetUp() override { touch_images(tmp_.file("images"), {"a.jpg"}); }
  std::string write(const std::string& name, const std::string& text) {
    write_file(tmp_.file(name), text);
    return tmp_.file(name);
  }
  medvqa::testing::TempDir tmp_;
};

TEST_F(JsonReaders, MissingFile) { EXPECT_ERROR(read_vqa_rad(tmp_.file("nope.json")), "nope.json: cannot open"); }

TEST_F(JsonReaders, InvalidJson) {
  const auto path = write("bad.json", "[{\"qid\": 1,");
  EXPECT_ERROR(read_vqa_rad(path), "bad.json: invalid JSON");
  EXPECT_ERROR(read_slake(path), "bad.json: invalid JSON");
  EXPECT_ERROR(read_medpix(path), "bad.json: invalid JSON");
}

TEST_F(JsonReaders, WrongTopLevelType) {
  const auto path = write("object.json", R"({"data": []})");
  EXPECT_ERROR(read_vqa_rad(path), "object.json: expected a JSON array of rows, found object");
  EXPECT_ERROR(read_slake(path), "expected a JSON array");
  EXPECT_ERROR(read_vqa_rad(write("row.json", "[1]")), "row.json: row 1: expected an object");
}

TEST_F(JsonReaders, MissingFieldOrWrongType) {
  const auto missing = write("missing.json", "[" + rad_row("1", "a.jpg", R"("q?")", R"("yes")") +
                                                 R"(, {"qid": 2, "image_name": "a.jpg", "question": "q?"}])");
  EXPECT_ERROR(read_vqa_rad(missing), "missing.json: row 2: missing field \"answer\"");
  const auto typed = write("typed.json", "[" + rad_row("1", "a.jpg", R"("q?")", R"(["yes"])") + "]");
  EXPECT_ERROR(read_vqa_rad(typed), "typed.json: row 1: field \"answer\" has type array, expected text");
  // A file of another format fails at its first row.
  EXPECT_ERROR(read_slake(missing), "missing.json: row 1: missing field \"q_lang\"");
}

TEST_F(JsonReaders, MissingImageIsAnErrorUnlessSkipping) {
  const auto path = write("q.json", "[" + rad_row("1", "a.jpg", R"("q?")", R"("yes")") + ", " +
                                        rad_row("2", "gone.jpg", R"("q?")", R"("no")") + "]");
  EXPECT_ERROR(read_vqa_rad(path), "q.json: row 2: image not found: " + tmp_.file("images/gone.jpg"));
  ReadOptions lenient;
  lenient.require_images = false;
  ReadReport report;
  const auto rows = read_vqa_rad(path, "", lenient, &report);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(report.skipped, std::vector<std::string>{"row 2: image not found: " + tmp_.file("images/gone.jpg")});
}

TEST_F(JsonReaders, SkipsAreReportedByRow) {
  const auto path = write("q.json", "[" + rad_row("1", "a.jpg", R"("q?")", R"("yes")") + ", " +
                                        rad_row("2", "a.jpg", R"("  ")", R"("no")") + ", " +
                                        rad_row("3", "a.jpg", R"(null)", R"("no")") + ", " +
                                        rad_row("4", "a.jpg", R"("q?")", R"(" ")") + ", " +
                                        rad_row("5", "a.jpg", R"("q?")", R"(null)") + ", " +
                                        rad_row("6", "", R"("q?")", R"(0)") + ", " +
                                        rad_row("7", "a.jpg", R"("q?")", R"(2.5)") + "]");
  ReadReport report;
  const auto rows = read_vqa_rad(path, "", {}, &report);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].answer, "2.5");
  EXPECT_EQ(report.rows, 7u);
  EXPECT_EQ(report.kept, 2u);
  EXPECT_EQ(report.skipped, (std::vector<std::string>{"row 2: missing question", "row 3: missing question",
                                                      "row 4: empty answer", "row 5: empty answer",
                                                      "row 6: no image name"}));
}

TEST_F(JsonReaders, SlakeLanguageFilterCountsInsteadOfListing) {
  const auto path = write("train.json", R"([
    {"qid": 1, "img_name": "a.jpg", "question": "Is it?", "answer": "None", "q_lang": "en",
     "answer_type": "CLOSED ", "content_type": "Abnormality"},
    {"qid": 2, "img_name": "a.jpg", "question": "是吗?", "answer": "是的", "q_lang": "zh",
     "answer_type": "CLOSED", "content_type": "Abnormality"},
    {"qid": 3, "img_name": "a.jpg", "question": "什么?", "answer": "", "q_lang": "zh",
     "answer_type": "OPEN", "content_type": "Organ"}])");
  ReadReport report;
  const auto en = read_slake(path, tmp_.file("images"), {}, &report);
  ASSERT_EQ(en.size(), 1u);
  EXPECT_EQ(en[0].answer, "None");
  EXPECT_EQ(en[0].answer_type, "CLOSED");
  EXPECT_EQ(report.filtered, 2u);
  EXPECT_TRUE(report.skipped.empty());
  ReadOptions both;
  both.languages = {"en", "zh"};
  const auto all = read_slake(path, tmp_.file("images"), both, &report);
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(report.filtered, 0u);  // the report starts afresh on each read
  EXPECT_EQ(report.skipped, std::vector<std::string>{"row 3: empty answer"});
}

TEST_F(JsonReaders, DispatchByFormatName) {
  const auto path = write("trainset.json", "[" + rad_row("7", "a.jpg", R"("Is it?")", R"("Yes")") + "]");
  const auto rows = read_vqa("vqa-rad", path, "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, "7");
  EXPECT_ERROR(read_vqa("vqa-rad-2018", path, ""), "unknown VQA format \"vqa-rad-2018\" (known: vqa-rad, slake");
  EXPECT_ERROR(read_captions("roco", path, ""), "unknown caption format \"roco\"");
}

}  // namespace
}  // namespace medvqa::data
