#include <png.h>

#include <csetjmp>

#include "image/image.h"
#include "io/error.h"

namespace medvqa::image {
namespace {

struct Writer {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::vector<uint8_t> out;
  std::string message;
  ~Writer() { png_destroy_write_struct(&png, &info); }
};

void append(png_structp png, png_bytep data, png_size_t size) {
  auto* w = static_cast<Writer*>(png_get_io_ptr(png));
  w->out.insert(w->out.end(), data, data + size);
}

// libpng is C: errors leave through longjmp back to encode_png, never by unwinding its frames.
void on_error(png_structp png, png_const_charp message) {
  static_cast<Writer*>(png_get_error_ptr(png))->message = message;
  png_longjmp(png, 1);
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  if (image.bit_depth != 8 || image.is_palette() || (image.channels != 1 && image.channels != 3))
    throw Error("encode_png: only 8-bit gray or RGB images");
  if (image.pixels.size() != image.sample_count()) throw Error("encode_png: pixel buffer does not match the size");
  Writer w;
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_error, nullptr);
  if (w.png == nullptr) throw Error("encode_png: cannot create PNG encoder");
  w.info = png_create_info_struct(w.png);
  if (w.info == nullptr) throw Error("encode_png: cannot create PNG encoder");
  if (setjmp(png_jmpbuf(w.png))) throw Error("PNG encoding failed: " + w.message);
  png_set_write_fn(w.png, &w, append, nullptr);
  png_set_IHDR(w.png, w.info, png_uint_32(image.width), png_uint_32(image.height), 8,
               image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(w.png, 3);  // previews: speed over size
  png_write_info(w.png, w.info);
  const size_t stride = size_t(image.width) * size_t(image.channels);
  for (int y = 0; y < image.height; ++y) png_write_row(w.png, const_cast<png_bytep>(image.pixels.data() + size_t(y) * stride));
  png_write_end(w.png, nullptr);
  return std::move(w.out);
}

}  // namespace medvqa::image
