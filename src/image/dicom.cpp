// DICOM decoding with DCMTK's DicomImage, which implements the grayscale pipeline of PS3.4 N.2:
// modality LUT (rescale slope/intercept, e.g. to Hounsfield units), VOI LUT or window, and the
// MONOCHROME1 inversion, for every transfer syntax whose codec is registered here.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmimage/diregist.h>  // color images: registers DCMTK's color support on inclusion
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "image/decoders.h"
#include "image/dicom_lengths.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

void register_codecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJDecoderRegistration::registerCodecs();    // JPEG baseline, extended, lossless
    DJLSDecoderRegistration::registerCodecs();  // JPEG-LS
    DcmRLEDecoderRegistration::registerCodecs();
    // Failures reach the caller as medvqa::Error; DCMTK's own log would repeat them on stderr.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
  });
}

const std::vector<std::pair<std::string, Window>>& presets() {
  static const std::vector<std::pair<std::string, Window>> p = {
      {"lung", {-600, 1500}}, {"mediastinum", {50, 350}}, {"brain", {40, 80}},
      {"bone", {500, 2000}},  {"abdomen", {40, 400}},
  };
  return p;
}

}  // namespace

Window window_preset(const std::string& name) {
  for (const auto& [n, w] : presets())
    if (n == name) return w;
  std::string names;
  for (const auto& n : window_preset_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown window preset '" + name + "' (choose one of " + names + ")");
}

const std::vector<std::string>& window_preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [n, _] : presets()) v.push_back(n);
    return v;
  }();
  return names;
}

std::optional<Window> choose_window(const std::string& preset, std::optional<double> center,
                                    std::optional<double> width) {
  if (center.has_value() != width.has_value()) throw Error("give both window center and window width, or neither");
  if (center) {
    if (!std::isfinite(*center) || !std::isfinite(*width) || *width < 1)
      throw Error("window width must be a number of at least 1 (and the center a finite number)");
    return Window{*center, *width};
  }
  if (preset.empty() || preset == "default") return std::nullopt;
  return window_preset(preset);
}

namespace detail {

Image decode_dicom(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options) {
  register_codecs();
  check_dicom_lengths(data, size, origin);
  DcmInputBufferStream stream;
  stream.setBuffer(data, offile_off_t(size));
  stream.setEos();
  DcmFileFormat file;
  file.transferInit();
  OFCondition read = file.read(stream);
  file.transferEnd();
  if (read.bad()) throw Error(origin + ": not a readable DICOM file (" + read.text() + ")");
  DcmDataset* dataset = file.getDataset();
  if (!dataset->tagExistsWithValue(DCM_PixelData))
    throw Error(origin + ": DICOM file has no pixel data (not an image; e.g. a report or a presentation state)");

  Uint16 rows = 0, columns = 0;
  dataset->findAndGetUint16(DCM_Rows, rows);
  dataset->findAndGetUint16(DCM_Columns, columns);
  check_dimensions(columns, rows, origin, options);
  Sint32 frames = 1;
  if (dataset->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
  const int frame = options.frame < 0 ? int(frames / 2) : options.frame;
  if (frame >= frames)
    throw Error(origin + ": frame " + std::to_string(frame) + " requested, but the file has " +
                std::to_string(frames) + (frames == 1 ? " frame" : " frames"));

  // Only the chosen frame is decoded (partial access), so a long cine loop costs one frame.
  DicomImage dicom(dataset, dataset->getOriginalXfer(), CIF_UsePartialAccessToPixelData, unsigned(frame), 1);
  if (dicom.getStatus() != EIS_Normal)
    throw Error(origin + ": cannot decode the DICOM pixel data (" + DicomImage::getString(dicom.getStatus()) + ")");
  if (dicom.isMonochrome()) {
    bool windowed = false;
    if (options.window) {
      if (options.window->width < 1) throw Error(origin + ": window width must be at least 1");
      windowed = dicom.setWindow(options.window->center, options.window->width) != 0;
    } else if (dicom.getVoiLutCount() > 0) {
      windowed = dicom.setVoiLut(0) != 0;
    } else if (dicom.getWindowCount() > 0) {
      windowed = dicom.setWindow(0) != 0;
    }
    if (!windowed) dicom.setMinMaxWindow();
  }
  const unsigned long bytes = dicom.getOutputDataSize(8);
  const void* out = dicom.getOutputData(8, 0, 0);
  if (out == nullptr || bytes == 0) throw Error(origin + ": DICOM pixel data could not be rendered");
  Image image;
  image.width = int(dicom.getWidth());
  image.height = int(dicom.getHeight());
  image.channels = dicom.isMonochrome() ? 1 : 3;
  if (bytes != image.sample_count()) throw Error(origin + ": DICOM rendering has an unexpected size");
  image.pixels.assign(static_cast<const uint8_t*>(out), static_cast<const uint8_t*>(out) + bytes);
  return image;
}

}  // namespace detail
}  // namespace medvqa::image
