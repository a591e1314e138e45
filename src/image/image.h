#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace medvqa::image {

// Decoded pixels, interleaved, rows top to bottom, kept in the form PIL opens the file in, because
// open_clip resizes before converting to RGB and each PIL mode resizes differently:
//   8-bit, channels 1 (L), 2 (LA), 3 (RGB), 4 (RGBA): `pixels`.
//   8-bit palette (PIL "P"; also 1-bit gray, PIL "1", as a black/white palette since both resize
//     by nearest neighbour): channels 1, `pixels` are indices into `palette`.
//   16-bit gray (PIL "I"): channels 1, bit_depth 16, `pixels16`. Other 16-bit PNGs are reduced to
//     their high byte while decoding, as PIL does.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 8;
  std::vector<uint8_t> pixels;
  std::vector<uint16_t> pixels16;
  std::vector<uint8_t> palette;  // 256 RGB triples when the image is paletted, else empty

  bool is_palette() const { return !palette.empty(); }
  size_t sample_count() const { return size_t(width) * size_t(height) * size_t(channels); }
};

// A display window over modality values (Hounsfield units for CT): values in
// [center - width/2, center + width/2] spread over 0..255 (DICOM's linear VOI function).
struct Window {
  double center = 0;
  double width = 0;
};

struct DecodeOptions {
  // Decompression-bomb guard: a header claiming more pixels is rejected before any pixel buffer is
  // allocated. 64 MP covers every scanner output the project meets.
  uint64_t max_pixels = 64'000'000;
  // DICOM only (JPEG and PNG are already display images): the window to apply instead of the
  // file's own VOI LUT / window, and the frame of a multi-frame image (-1: the middle one).
  std::optional<Window> window;
  int frame = -1;
};

// Named CT windows (lung, mediastinum, brain, bone, abdomen); throws medvqa::Error naming the
// valid names for anything else.
Window window_preset(const std::string& name);
const std::vector<std::string>& window_preset_names();
// The window a user asked for: explicit center and width (both or neither) win over a preset
// name; nothing (empty preset, "default") keeps the file's own. Throws medvqa::Error on bad input.
std::optional<Window> choose_window(const std::string& preset, std::optional<double> center,
                                    std::optional<double> width);

// Decodes a JPEG, PNG or DICOM file held in memory, recognised by its magic bytes. `origin` (a path or a
// description) names the data in error messages. Throws medvqa::Error on anything it cannot decode.
Image decode_image(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options = {});
Image load_image(const std::string& path, const DecodeOptions& options = {});

// 16-bit images are stretched over their own min..max to 0..255 (rounded), so 12-bit scans keep
// their contrast instead of saturating as PIL's clamp to 0..255 would make them. A constant image
// becomes 0. 8-bit images are returned unchanged.
Image to_8bit(const Image& image);

// 8-bit gray or RGB as a PNG file (previews of windowed DICOM for the web page).
std::vector<uint8_t> encode_png(const Image& image);

// PIL's convert('RGB'): gray replicated, alpha dropped (not composited), palette expanded.
// 16-bit images go through to_8bit first.
Image to_rgb(const Image& image);

}  // namespace medvqa::image
