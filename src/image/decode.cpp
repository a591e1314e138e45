#include <cstring>
#include <fstream>
#include <iterator>

#include "image/decoders.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

using Decoder = Image (*)(const uint8_t*, size_t, const std::string&, const DecodeOptions&);

struct Format {
  const char* name;
  size_t offset;  // where the signature sits (DICOM's "DICM" is at 128)
  const char* signature;
  size_t signature_size;
  Decoder decode;
};

const Format kFormats[] = {
    {"PNG", 0, "\x89PNG\r\n\x1a\n", 8, detail::decode_png},
    {"JPEG", 0, "\xFF\xD8\xFF", 3, detail::decode_jpeg},
    {"DICOM", 128, "DICM", 4, detail::decode_dicom},
};

}  // namespace

namespace detail {

void check_dimensions(uint64_t width, uint64_t height, const std::string& origin, const DecodeOptions& options) {
  if (width == 0 || height == 0)
    throw Error(origin + ": image has zero size (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  // Both come from 32-bit header fields, so the product cannot overflow 64 bits.
  if (width * height > options.max_pixels)
    throw Error(origin + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels exceeds the limit of " + std::to_string(options.max_pixels) +
                " pixels (possible decompression bomb)");
}

}  // namespace detail

Image decode_image(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options) {
  if (data == nullptr || size == 0) throw Error(origin + ": empty image data");
  for (const Format& f : kFormats) {
    if (size >= f.offset + f.signature_size && std::memcmp(data + f.offset, f.signature, f.signature_size) == 0)
      return f.decode(data, size, origin, options);
  }
  throw Error(origin + ": unsupported image format (expected JPEG, PNG or DICOM)");
}

Image load_image(const std::string& path, const DecodeOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open image file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": error reading image file");
  return decode_image(bytes.data(), bytes.size(), path, options);
}

}  // namespace medvqa::image
