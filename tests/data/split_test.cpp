#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data/readers.h"
#include "data/split.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::data {
namespace {

std::set<std::string> images_of(const std::vector<VqaExample>& examples) {
  std::set<std::string> images;
  for (const auto& ex : examples) images.insert(std::filesystem::path(ex.image_path).filename().string());
  return images;
}

std::vector<VqaExample> synthetic(size_t images, size_t per_image, const std::string& dir) {
  std::vector<VqaExample> out;
  for (size_t i = 0; i < images; ++i)
    for (size_t q = 0; q < per_image; ++q) {
      VqaExample ex;
      ex.id = std::to_string(i) + "." + std::to_string(q);
      ex.image_path = dir + "/synpic" + std::to_string(10000 + i) + ".jpg";
      out.push_back(ex);
    }
  return out;
}

TEST(SplitByImage, NoImageOnBothSidesAndNothingLost) {
  const auto examples = synthetic(2000, 3, "/data/a");
  const auto split = split_by_image(examples, 0.1, 7);
  EXPECT_EQ(split.train.size() + split.val.size(), examples.size());
  const auto train = images_of(split.train), val = images_of(split.val);
  for (const auto& image : val) EXPECT_EQ(train.count(image), 0u) << image;
  const double fraction = double(val.size()) / 2000.0;
  EXPECT_GT(fraction, 0.08);
  EXPECT_LT(fraction, 0.12);
}

TEST(SplitByImage, DeterministicAndIndependentOfDirectoryAndOtherRows) {
  const auto a = split_by_image(synthetic(500, 2, "/data/a"), 0.2, 1);
  const auto b = split_by_image(synthetic(500, 2, "relative/elsewhere"), 0.2, 1);
  EXPECT_EQ(images_of(a.val), images_of(b.val));
  // Half the rows: each image keeps its side.
  const auto half = split_by_image(synthetic(250, 1, "/data/a"), 0.2, 1);
  const auto all_val = images_of(a.val);
  for (const auto& image : images_of(half.val)) EXPECT_EQ(all_val.count(image), 1u) << image;
  for (const auto& image : images_of(half.train)) EXPECT_EQ(all_val.count(image), 0u) << image;
  // Another seed, another slice.
  EXPECT_NE(images_of(split_by_image(synthetic(500, 2, "/data/a"), 0.2, 2).val), all_val);
}

TEST(SplitByImage, EdgeFractionsAndOrder) {
  const auto examples = synthetic(100, 2, "/d");
  EXPECT_TRUE(split_by_image(examples, 0.0).val.empty());
  EXPECT_TRUE(split_by_image(examples, 1.0).train.empty());
  const auto split = split_by_image(examples, 0.5);
  for (size_t i = 1; i < split.train.size(); ++i) EXPECT_LT(std::stod(split.train[i - 1].id), std::stod(split.train[i].id));
}

TEST(SplitByImage, VqaRadTrain) {
  const std::string path = medvqa::testing::data_root() + "/vqa-rad/trainset.json";
  if (!std::filesystem::exists(path)) MEDVQA_SKIP_MISSING_FIXTURE("no " << path);
  const auto examples = read_vqa_rad(path);
  const auto split = split_by_image(examples, 0.1, 0);
  const auto train = images_of(split.train), val = images_of(split.val);
  for (const auto& image : val) EXPECT_EQ(train.count(image), 0u) << image;
  EXPECT_EQ(train.size() + val.size(), 314u);  // images with questions
  const double image_fraction = double(val.size()) / 314.0;
  const double question_fraction = double(split.val.size()) / double(examples.size());
  std::cout << "[split] vqa-rad val: " << val.size() << " images, " << split.val.size() << " questions" << std::endl;
  EXPECT_GT(image_fraction, 0.05);
  EXPECT_LT(image_fraction, 0.15);
  EXPECT_GT(question_fraction, 0.04);
  EXPECT_LT(question_fraction, 0.2);
}

}  // namespace
}  // namespace medvqa::data
