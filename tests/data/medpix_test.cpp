// MedPix 2.0 Descriptions.json captions from ../shared/data.
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

TEST(MedPix, SharedDescriptions) {
  const std::string root = medvqa::testing::data_root() + "/medpix2";
  if (!fs::exists(root)) MEDVQA_SKIP_MISSING_FIXTURE("no " << root);
  ReadReport report;
  const auto captions = read_captions("medpix", root + "/Descriptions.json", "", {}, &report);
  EXPECT_EQ(report.rows, 2031u);
  // Two "IN PROGRESS" placeholders (MPX1033_synpic45450, _45451).
  EXPECT_EQ(report.skipped, (std::vector<std::string>{"row 22: placeholder caption \"IN PROGRESS\"",
                                                      "row 23: placeholder caption \"IN PROGRESS.\""}));
  ASSERT_EQ(captions.size(), 2029u);

  const CaptionExample& first = captions.front();
  EXPECT_EQ(first.id, "MPX1009_synpic46283");
  EXPECT_EQ(first.caption,
            "CT - noncontrast, Coronal: The prostate is enlarged with several calcifications noted within. "
            "No dominant prostate mass is evident.");
  EXPECT_EQ(fs::path(first.image_path), fs::path(root) / "images/MPX1009_synpic46283.jpg");

  for (const auto& c : captions) {
    EXPECT_TRUE(fs::exists(c.image_path)) << c.image_path;
    EXPECT_EQ(c.caption.find('\n'), std::string::npos) << c.id;
  }
  // No Plane: the header is the modality alone.
  const auto it = std::find_if(captions.begin(), captions.end(),
                               [](const CaptionExample& c) { return c.id == "MPX2272_synpic148"; });
  ASSERT_NE(it, captions.end());
  EXPECT_EQ(it->caption.find(", :"), std::string::npos);
  EXPECT_NE(it->caption.find(": Axial T1W MR after Gadolinium. On the left"), std::string::npos) << it->caption;
}

TEST(MedPix, MissingDescriptionIsAnError) {
  medvqa::testing::TempDir tmp;
  test_files::write_file(tmp.file("Descriptions.json"), R"([{"image": "x", "Type": "CT"}])");
  try {
    read_medpix(tmp.file("Descriptions.json"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1: missing \"Description\" object"), std::string::npos) << e.what();
  }
}

TEST(MedPix, CaptionWithoutModalityOrPlane) {
  medvqa::testing::TempDir tmp;
  test_files::touch_images(tmp.file("images"), {"a.jpg", "b.jpg"});
  test_files::write_file(tmp.file("Descriptions.json"),
                         R"([{"image": "a", "Description": {"Caption": " Plain  text ", "Modality": null}},
                             {"image": "b", "Description": {"Caption": "", "Modality": "CT", "Plane": "Axial"}}])");
  ReadReport report;
  const auto captions = read_medpix(tmp.file("Descriptions.json"), "", {}, &report);
  ASSERT_EQ(captions.size(), 1u);
  EXPECT_EQ(captions[0].caption, "Plain text");
  EXPECT_EQ(report.skipped, std::vector<std::string>{"row 2: empty caption"});
}

}  // namespace
}  // namespace medvqa::data
