#pragma once
// Per-format decoders behind decode_image(); internal to src/image.
#include <cstddef>
#include <cstdint>
#include <string>

#include "image/image.h"

namespace medvqa::image::detail {

Image decode_png(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options);
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options);
// DICOM Part 10 through DCMTK: modality LUT, then the VOI (options.window, else the file's VOI LUT,
// else its first window, else the frame's min..max), MONOCHROME1 inverted; gray or RGB, 8-bit.
Image decode_dicom(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options);

// Throws unless width x height is a non-empty image within options.max_pixels. Decoders call it
// right after reading the header, before allocating pixels.
void check_dimensions(uint64_t width, uint64_t height, const std::string& origin, const DecodeOptions& options);

}  // namespace medvqa::image::detail
