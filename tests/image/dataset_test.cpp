// Real dataset images (../shared/data) decode and preprocess cleanly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "image/preprocess.h"
#include "testing/fixtures.h"
#include "testing/testing.h"

namespace medvqa::image {
namespace {

namespace fs = std::filesystem;

// The first `limit` (sorted) regular files under `dir` whose name is `name` or ends in `suffix`.
std::vector<std::string> sample_files(const fs::path& dir, const std::string& suffix, size_t limit) {
  std::vector<std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.size() > limit) files.resize(limit);
  return files;
}

std::vector<std::string> dataset_samples() {
  const fs::path root = medvqa::testing::data_root();
  std::vector<std::string> all;
  for (const auto& [sub, suffix] : {std::pair{"vqa-rad/images", ".jpg"},
                                    {"slake/imgs", "source.jpg"},
                                    {"medpix2/images", ".jpg"},
                                    {"vqa-med-2019", ".jpg"}}) {
    auto files = sample_files(root / sub, suffix, 3);
    all.insert(all.end(), files.begin(), files.end());
  }
  return all;
}

TEST(DatasetImages, DecodeAndPreprocess) {
  const auto files = dataset_samples();
  if (files.empty()) MEDVQA_SKIP_MISSING_FIXTURE("no datasets under " << medvqa::testing::data_root());
  std::vector<Image> images;
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    const Image img = load_image(file);
    EXPECT_GT(img.width, 0);
    EXPECT_GT(img.height, 0);
    const auto x = preprocess(img);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 224, 224}));
    EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
    // Normalized 0..255 stays within (0 - mean) / std .. (1 - mean) / std.
    EXPECT_GE(x.min().item<float>(), -1.8f);
    EXPECT_LE(x.max().item<float>(), 2.2f);
    images.push_back(img);
  }
  EXPECT_EQ(preprocess_batch(images).sizes(), (std::vector<int64_t>{int64_t(images.size()), 3, 224, 224}));
}

}  // namespace
}  // namespace medvqa::image
