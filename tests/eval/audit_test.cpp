// The data audit: what a training split gives away about an evaluation split.
#include "eval/audit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/readers.h"
#include "data/split.h"
#include "image/image.h"
#include "image/resize.h"
#include "io/atomic_file.h"
#include "testing/fixtures.h"
#include "testing/testing.h"
#include "testing/vqa_example.h"

namespace medvqa::eval {
namespace {

// A gray picture with a bright square at (x0, y0) and a texture that depends on `pattern`.
image::Image picture(int size, int x0, int y0, double pattern) {
  image::Image im;
  im.width = im.height = size;
  im.channels = 1;
  im.pixels.resize(size_t(size) * size_t(size));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double value = 90 + 60 * std::sin(pattern * x / size) * std::cos(pattern * y / size);
      if (x >= x0 && x < x0 + size / 4 && y >= y0 && y < y0 + size / 4) value = 240;
      im.pixels[size_t(y) * size_t(size) + size_t(x)] = uint8_t(value);
    }
  return im;
}

std::string write_png(const medvqa::testing::TempDir& dir, const std::string& name, const image::Image& im) {
  const auto bytes = image::encode_png(im);
  io::write_file_atomically(dir.file(name), std::string(bytes.begin(), bytes.end()));
  return dir.file(name);
}

using medvqa::testing::vqa_example;

TEST(Audit, FindsSharedImagesRepeatedQuestionsAndUnseenAnswers) {
  medvqa::testing::TempDir dir;
  const image::Image a = picture(128, 10, 10, 9), b = picture(128, 80, 70, 23), c = picture(128, 50, 20, 41);
  const std::string train_a = write_png(dir, "a.png", a), train_b = write_png(dir, "b.png", b);
  const std::string copy_a = write_png(dir, "a-copy.png", a);                                // same bytes
  const std::string small_b = write_png(dir, "b-small.png", image::resize_bicubic(b, 64, 64));  // same picture
  const std::string other = write_png(dir, "c.png", c);
  const std::vector<data::VqaExample> train = {
      vqa_example(train_a, "Is there a mass?", "Yes", "CLOSED"),
      vqa_example(train_a, "Which organ is shown?", "Liver", "OPEN"),
      vqa_example(train_b, "What modality is this?", "CT", "OPEN"),
  };
  const std::vector<data::VqaExample> eval = {
      vqa_example(copy_a, "Is there a mass?", "yes", "CLOSED"),               // a lookup: same image, question, answer
      vqa_example(small_b, "What modality is this?", "MRI", "OPEN"),          // same question and image, other answer
      vqa_example(other, "Which organ is shown?", "Kidney", "OPEN"),          // repeated question, new image and answer
      vqa_example(other, "Is the heart enlarged?", "No", "CLOSED"),           // nothing shared
  };
  Fingerprints fingerprints;
  add_fingerprints(train, fingerprints);
  add_fingerprints(eval, fingerprints);
  const SplitAudit audit = audit_split(train, eval, fingerprints);
  EXPECT_EQ(audit.train_images, 2u);
  EXPECT_EQ(audit.eval_images, 3u);
  EXPECT_EQ(audit.identical_images, 1u);
  EXPECT_EQ(audit.near_duplicate_images, 1u);
  EXPECT_EQ(audit.questions_on_shared_images, 2u);
  EXPECT_EQ(audit.repeated_questions, 3u);
  EXPECT_EQ(audit.repeated_on_shared_image, 2u);
  EXPECT_EQ(audit.repeated_with_same_answer, 1u);
  EXPECT_EQ(audit.unseen_answers, 3u);  // MRI, Kidney, No
  EXPECT_EQ(audit.unseen_closed, 1u);
  EXPECT_EQ(audit.unseen_open, 2u);
  ASSERT_EQ(audit.matches.size(), 2u);
  EXPECT_TRUE(audit.matches[0].identical);
  EXPECT_EQ(audit.matches[0].train_image, train_a);
  EXPECT_EQ(audit.matches[1].train_image, train_b);
  EXPECT_EQ(to_json(audit)["near_duplicate_images"], 1);

  // The tolerance decides: at 64 bits every picture is a near-duplicate of every other.
  AuditOptions anything;
  anything.near_distance = 64;
  EXPECT_EQ(audit_split(train, eval, fingerprints, anything).near_duplicate_images, 2u);
}

TEST(Audit, AnUnreadableImageIsAnErrorNamingIt) {
  medvqa::testing::TempDir dir;
  io::write_file_atomically(dir.file("broken.png"), "not an image");
  Fingerprints fingerprints;
  try {
    add_fingerprints({vqa_example(dir.file("broken.png"), "q", "a", "OPEN")}, fingerprints);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
}

// VQA-RAD has no validation split; the recipe selects on a slice cut from train by image, which must
// share no image with the rest. A split by question (as VQA-RAD's official test split is made)
// shares almost every image.
TEST(Audit, VqaRadByImageSliceSharesNoImageAndAByQuestionSplitDoes) {
  const std::string path = medvqa::testing::data_root() + "/vqa-rad/trainset.json";
  if (!std::filesystem::exists(path)) MEDVQA_SKIP_MISSING_FIXTURE("VQA-RAD not found under " << path);
  const auto questions = data::read_vqa_rad(path);
  Fingerprints fingerprints;
  add_fingerprints(questions, fingerprints);
  const auto slice = data::split_by_image(questions, 0.1, 0);
  const SplitAudit by_image = audit_split(slice.train, slice.val, fingerprints);
  std::cout << format_audit("by-image slice", by_image, {});
  EXPECT_GT(by_image.eval_images, 20u);
  EXPECT_EQ(by_image.identical_images, 0u);
  std::vector<data::VqaExample> even, odd;
  for (size_t i = 0; i < questions.size(); ++i) (i % 2 ? odd : even).push_back(questions[i]);
  const SplitAudit by_question = audit_split(even, odd, fingerprints);
  std::cout << format_audit("by-question split", by_question, {});
  EXPECT_GT(by_question.identical_images, by_question.eval_images * 8 / 10);
}

}  // namespace
}  // namespace medvqa::eval
