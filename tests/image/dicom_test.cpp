// DICOM input: datasets written with DCMTK here (CT with rescale, MONOCHROME1, multi-frame, RGB,
// non-image) and compressed by DCMTK's own tools (img2dcm, dcmcrle, dcmcjpeg).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "image/image.h"
#include "io/error.h"
#include "testing/testing.h"

namespace medvqa::image {
namespace {

struct DicomSpec {
  int rows = 2, columns = 2, frames = 1;
  int bits = 16;  // 8 or 16 allocated (and stored)
  bool is_signed = false;
  std::string photometric = "MONOCHROME2";
  std::optional<double> slope, intercept, window_center, window_width;
  std::vector<int> values;  // frames × rows × columns × samples, as stored
};

void write_dicom(const DicomSpec& s, const std::string& path) {
  DcmFileFormat file;
  DcmDataset* d = file.getDataset();
  char uid[100];
  d->putAndInsertString(DCM_SOPClassUID, s.frames > 1 ? UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage
                                                       : UID_CTImageStorage);
  d->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d->putAndInsertString(DCM_Modality, "CT");
  const int samples = s.photometric == "RGB" ? 3 : 1;
  d->putAndInsertUint16(DCM_SamplesPerPixel, Uint16(samples));
  d->putAndInsertString(DCM_PhotometricInterpretation, s.photometric.c_str());
  if (samples == 3) d->putAndInsertUint16(DCM_PlanarConfiguration, 0);
  d->putAndInsertUint16(DCM_Rows, Uint16(s.rows));
  d->putAndInsertUint16(DCM_Columns, Uint16(s.columns));
  d->putAndInsertUint16(DCM_BitsAllocated, Uint16(s.bits));
  d->putAndInsertUint16(DCM_BitsStored, Uint16(s.bits));
  d->putAndInsertUint16(DCM_HighBit, Uint16(s.bits - 1));
  d->putAndInsertUint16(DCM_PixelRepresentation, s.is_signed ? 1 : 0);
  if (s.frames > 1) d->putAndInsertString(DCM_NumberOfFrames, std::to_string(s.frames).c_str());
  if (s.slope) d->putAndInsertString(DCM_RescaleSlope, std::to_string(*s.slope).c_str());
  if (s.intercept) d->putAndInsertString(DCM_RescaleIntercept, std::to_string(*s.intercept).c_str());
  if (s.window_center) d->putAndInsertString(DCM_WindowCenter, std::to_string(*s.window_center).c_str());
  if (s.window_width) d->putAndInsertString(DCM_WindowWidth, std::to_string(*s.window_width).c_str());
  if (s.bits == 8) {
    std::vector<Uint8> v(s.values.begin(), s.values.end());
    d->putAndInsertUint8Array(DCM_PixelData, v.data(), v.size());
  } else {
    std::vector<Uint16> v;
    for (int x : s.values) v.push_back(Uint16(int16_t(x)));
    d->putAndInsertUint16Array(DCM_PixelData, v.data(), v.size());
  }
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good()) << path;
}

// CT in Hounsfield units through slope 2, intercept -1024: air, water, soft tissue, bone.
DicomSpec ct() {
  DicomSpec s;
  s.is_signed = true;
  s.slope = 2;
  s.intercept = -1024;
  s.window_center = 40;
  s.window_width = 400;
  for (int hu : {-1000, 0, 40, 1000}) s.values.push_back((hu + 1024) / 2);
  return s;
}

// DICOM's linear VOI function (PS3.3 C.11.2.1.2) to 0..255.
double expected(double hu, Window w) {
  double y = ((hu - (w.center - 0.5)) / (w.width - 1) + 0.5) * 255;
  return std::clamp(y, 0.0, 255.0);
}

void expect_pixels(const Image& image, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(image.pixels.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(double(image.pixels[i]), want[i], tolerance) << "pixel " << i;
}

void run(const std::string& command) { ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command; }

TEST(Dicom, CtRescaleThenTheFilesWindowOrAPreset) {
  testing::TempDir tmp;
  write_dicom(ct(), tmp.file("ct.dcm"));
  auto own = load_image(tmp.file("ct.dcm"));
  EXPECT_EQ(own.channels, 1);
  EXPECT_EQ(own.bit_depth, 8);
  std::vector<double> want;
  for (double hu : {-1000, 0, 40, 1000}) want.push_back(expected(hu, {40, 400}));
  expect_pixels(own, want, 1.0);
  for (const auto& name : window_preset_names()) {
    DecodeOptions o;
    o.window = window_preset(name);
    want.clear();
    for (double hu : {-1000, 0, 40, 1000}) want.push_back(expected(hu, *o.window));
    SCOPED_TRACE(name);
    expect_pixels(load_image(tmp.file("ct.dcm"), o), want, 1.0);
  }
  DecodeOptions explicit_window;
  explicit_window.window = Window{0, 100};
  expect_pixels(load_image(tmp.file("ct.dcm"), explicit_window), {0, expected(0, {0, 100}), expected(40, {0, 100}), 255}, 1.0);
  EXPECT_THROW(window_preset("liver"), Error);
}

TEST(Dicom, WithoutAWindowTheFullRangeIsUsed) {
  testing::TempDir tmp;
  DicomSpec s;
  s.values = {100, 350, 600, 1100};
  write_dicom(s, tmp.file("raw.dcm"));
  expect_pixels(load_image(tmp.file("raw.dcm")), {0, 63.75, 127.5, 255}, 1.0);
}

TEST(Dicom, Monochrome1IsInverted) {
  testing::TempDir tmp;
  DicomSpec s;
  s.bits = 8;
  s.photometric = "MONOCHROME1";
  s.values = {0, 85, 170, 255};
  write_dicom(s, tmp.file("m1.dcm"));
  expect_pixels(load_image(tmp.file("m1.dcm")), {255, 170, 85, 0}, 1.0);
}

TEST(Dicom, MultiFrameTakesTheMiddleFrameOrTheChosenOne) {
  testing::TempDir tmp;
  DicomSpec s;
  s.bits = 8;
  s.frames = 3;
  s.window_center = 128;
  s.window_width = 256;
  for (int v : {50, 100, 150})
    for (int i = 0; i < 4; ++i) s.values.push_back(v);
  write_dicom(s, tmp.file("cine.dcm"));
  EXPECT_NEAR(load_image(tmp.file("cine.dcm")).pixels[0], 100, 1.0);
  DecodeOptions first;
  first.frame = 0;
  EXPECT_NEAR(load_image(tmp.file("cine.dcm"), first).pixels[0], 50, 1.0);
  DecodeOptions past_end;
  past_end.frame = 3;
  try {
    load_image(tmp.file("cine.dcm"), past_end);
    FAIL() << "frame 3 of 3 decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 3 frames"), std::string::npos) << e.what();
  }
}

TEST(Dicom, RgbKeepsItsColors) {
  testing::TempDir tmp;
  DicomSpec s;
  s.bits = 8;
  s.photometric = "RGB";
  s.values = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  write_dicom(s, tmp.file("rgb.dcm"));
  auto image = load_image(tmp.file("rgb.dcm"));
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(std::vector<int>(image.pixels.begin(), image.pixels.end()), s.values);
}

TEST(Dicom, LosslessCompressionDecodesToTheSamePixels) {
  testing::TempDir tmp;
  write_dicom(ct(), tmp.file("ct.dcm"));
  run("dcmcrle " + tmp.file("ct.dcm") + " " + tmp.file("rle.dcm"));
  run("dcmcjpeg +e1 " + tmp.file("ct.dcm") + " " + tmp.file("jpeg-lossless.dcm"));
  auto reference = load_image(tmp.file("ct.dcm"));
  for (const char* name : {"rle.dcm", "jpeg-lossless.dcm"}) {
    auto image = load_image(tmp.file(name));
    EXPECT_EQ(image.pixels, reference.pixels) << name;
  }
}

TEST(Dicom, JpegBaselineFromImg2dcmMatchesTheJpeg) {
  testing::TempDir tmp;
  const std::string jpeg = testing::data_root() + "/vqa-rad/images/synpic54610.jpg";
  run("img2dcm " + jpeg + " " + tmp.file("baseline.dcm"));
  auto from_dicom = load_image(tmp.file("baseline.dcm"));
  auto from_jpeg = to_rgb(load_image(jpeg));
  auto dicom_rgb = to_rgb(from_dicom);
  ASSERT_EQ(dicom_rgb.width, from_jpeg.width);
  ASSERT_EQ(dicom_rgb.height, from_jpeg.height);
  double diff = 0;
  for (size_t i = 0; i < from_jpeg.pixels.size(); ++i) diff += std::abs(int(dicom_rgb.pixels[i]) - int(from_jpeg.pixels[i]));
  // Two JPEG decoders (DCMTK's IJG and libjpeg-turbo) may round IDCT output differently.
  EXPECT_LT(diff / double(from_jpeg.pixels.size()), 1.0);
}

TEST(Dicom, CorruptTruncatedAndNonImageFilesGetClearErrors) {
  testing::TempDir tmp;
  auto message = [](const std::string& path) {
    try {
      load_image(path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(decoded)");
  };
  std::string junk(128, '\0');
  junk += "DICM";
  junk += std::string(300, '\x7f');
  std::ofstream(tmp.file("junk.dcm"), std::ios::binary) << junk;
  EXPECT_NE(message(tmp.file("junk.dcm")).find("junk.dcm"), std::string::npos);

  write_dicom(ct(), tmp.file("ct.dcm"));
  std::filesystem::resize_file(tmp.file("ct.dcm"), std::filesystem::file_size(tmp.file("ct.dcm")) - 5);
  EXPECT_NE(message(tmp.file("ct.dcm")), "(decoded)");

  DcmFileFormat report;
  report.getDataset()->putAndInsertString(DCM_SOPClassUID, UID_BasicTextSRStorage);
  report.getDataset()->putAndInsertString(DCM_PatientName, "Test^Report");
  ASSERT_TRUE(report.saveFile(tmp.file("report.dcm").c_str(), EXS_LittleEndianExplicit).good());
  EXPECT_NE(message(tmp.file("report.dcm")).find("no pixel data"), std::string::npos) << message(tmp.file("report.dcm"));
}

// A hostile upload: a few hundred bytes whose pixel data claims 4 GB. DCMTK would allocate the
// claimed length before reading it (found by fuzz/image_fuzzer); the check refuses it first.
TEST(Dicom, AnElementClaimingMoreBytesThanTheFileHoldsIsRefusedNamingIt) {
  testing::TempDir tmp;
  write_dicom(ct(), tmp.file("ct.dcm"));
  std::string bytes = testing::read_file(tmp.file("ct.dcm"));
  const std::string pixel_data("\xe0\x7f\x10\x00OW\0\0", 8);
  const size_t at = bytes.rfind(pixel_data);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at + 8, 4, std::string("\x00\x00\x00\xf0", 4));
  try {
    decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "upload.dcm");
    ADD_FAILURE() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("upload.dcm: DICOM element (7FE0,0010) claims 4026531840 bytes, but only 8 remain"),
              std::string::npos)
        << e.what();
  }
}

// The length check walks sequences, items and encapsulated pixel data in every transfer syntax
// without refusing a well-formed file.
TEST(Dicom, SequencesAndEveryTransferSyntaxPassTheLengthCheck) {
  testing::TempDir tmp;
  write_dicom(ct(), tmp.file("ct.dcm"));
  const auto reference = load_image(tmp.file("ct.dcm"));
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(tmp.file("ct.dcm").c_str()).good());
  DcmItem* item = nullptr;
  ASSERT_TRUE(file.getDataset()->findOrCreateSequenceItem(DCM_ReferencedImageSequence, item, -2).good());
  item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage);
  item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.826.0.1.3680043.2.1125.7");
  ASSERT_TRUE(file.getDataset()->findOrCreateSequenceItem(DCM_SourceImageSequence, item, -2).good());
  item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage);
  const std::pair<E_TransferSyntax, const char*> syntaxes[] = {{EXS_LittleEndianImplicit, "implicit.dcm"},
                                                               {EXS_LittleEndianExplicit, "explicit.dcm"},
                                                               {EXS_BigEndianExplicit, "big-endian.dcm"},
                                                               {EXS_DeflatedLittleEndianExplicit, "deflated.dcm"}};
  for (const auto& [syntax, name] : syntaxes) {
    // Undefined-length sequences and items in one file, explicit lengths in another.
    for (E_EncodingType encoding : {EET_UndefinedLength, EET_ExplicitLength}) {
      const std::string path = tmp.file(std::to_string(int(encoding)) + name);
      ASSERT_TRUE(file.saveFile(path.c_str(), syntax, encoding).good()) << path;
      EXPECT_EQ(load_image(path).pixels, reference.pixels) << path;
    }
  }
  run("dcmcrle " + tmp.file("1explicit.dcm") + " " + tmp.file("rle.dcm"));
  EXPECT_EQ(load_image(tmp.file("rle.dcm")).pixels, reference.pixels);
}

}  // namespace
}  // namespace medvqa::image
