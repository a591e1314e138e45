#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "image/decoders.h"
#include "io/error.h"

namespace medvqa::image::detail {
namespace {

// What libpng's callbacks see. libpng reports errors by calling on_error, which must not return:
// it records the message and longjmps back into guarded().
struct PngState {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  char message[256] = "";
  png_structp png = nullptr;
  png_infop info = nullptr;

  ~PngState() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void on_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof st->message, "%s", msg);
  png_longjmp(png, 1);
}

// Warnings concern ancillary chunks (bad CRC, odd gamma...) that neither we nor PIL use.
void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) png_error(png, "truncated file (unexpected end of data)");
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// Runs libpng calls with a landing pad for png_error(). The longjmp skips only libpng's frames,
// our callbacks and `step`'s, none of which own C++ objects, so no destructor is bypassed.
template <class Step>
void guarded(PngState& st, const std::string& origin, Step&& step) {
  if (setjmp(png_jmpbuf(st.png))) throw Error(origin + ": invalid PNG: " + st.message);
  step();
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// PIL fills palette entries a file does not define with its default gray ramp.
std::vector<uint8_t> read_palette(png_structp png, png_infop info) {
  std::vector<uint8_t> palette(256 * 3);
  for (int i = 0; i < 256; ++i) palette[i * 3] = palette[i * 3 + 1] = palette[i * 3 + 2] = uint8_t(i);
  png_colorp entries = nullptr;
  int count = 0;
  if (png_get_PLTE(png, info, &entries, &count) != 0) {
    for (int i = 0; i < count && i < 256; ++i) {
      palette[i * 3] = entries[i].red;
      palette[i * 3 + 1] = entries[i].green;
      palette[i * 3 + 2] = entries[i].blue;
    }
  }
  return palette;
}

}  // namespace

Image decode_png(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options) {
  // The IHDR chunk must come first (libpng rejects the file otherwise); checking it before libpng
  // runs refuses a bomb whatever follows the header.
  if (size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0)
    check_dimensions(read_be32(data + 16), read_be32(data + 20), origin, options);

  PngState st;
  st.data = data;
  st.size = size;
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  if (st.png == nullptr) throw Error(origin + ": cannot create PNG decoder");
  st.info = png_create_info_struct(st.png);
  if (st.info == nullptr) throw Error(origin + ": cannot create PNG decoder");
  png_set_read_fn(st.png, &st, on_read);

  png_uint_32 width = 0, height = 0;
  int depth = 0, color = 0;
  guarded(st, origin, [&] {
    png_read_info(st.png, st.info);
    png_get_IHDR(st.png, st.info, &width, &height, &depth, &color, nullptr, nullptr, nullptr);
  });

  // Reproduce the mode PIL 9.4 opens each PNG type in. tRNS is ignored everywhere because
  // convert('RGB') ignores it.
  Image img;
  img.width = int(width);
  img.height = int(height);
  const bool gray = color == PNG_COLOR_TYPE_GRAY;
  if (color == PNG_COLOR_TYPE_PALETTE) {
    png_set_packing(st.png);
    img.palette = read_palette(st.png, st.info);
  } else if (gray && depth == 1) {
    png_set_packing(st.png);
    img.palette.assign(256 * 3, 0);
    std::fill(img.palette.begin() + 3, img.palette.begin() + 6, uint8_t(255));
  } else if (gray && depth < 8) {
    png_set_expand_gray_1_2_4_to_8(st.png);  // scales as PIL's "L;2"/"L;4" unpackers do
  }
  if (depth == 16 && gray) {
    img.bit_depth = 16;
  } else if (depth == 16) {
    png_set_strip_16(st.png);  // PIL's ";16B" raw modes keep only the high byte
  }
  png_set_interlace_handling(st.png);
  guarded(st, origin, [&] { png_read_update_info(st.png, st.info); });

  img.channels = png_get_channels(st.png, st.info);
  const size_t row_bytes = png_get_rowbytes(st.png, st.info);
  if (row_bytes != size_t(width) * size_t(img.channels) * size_t(img.bit_depth / 8))
    throw Error(origin + ": unexpected PNG row layout after decoding setup");

  std::vector<uint8_t> bytes(row_bytes * height);
  std::vector<png_bytep> rows(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = bytes.data() + y * row_bytes;
  // No png_read_end(): the pixels are complete here, and PIL also accepts files whose trailing
  // chunks (text, IEND) are missing or damaged.
  guarded(st, origin, [&] { png_read_image(st.png, rows.data()); });

  if (img.bit_depth == 16) {
    img.pixels16.resize(img.sample_count());
    for (size_t i = 0; i < img.pixels16.size(); ++i)
      img.pixels16[i] = uint16_t((bytes[2 * i] << 8) | bytes[2 * i + 1]);  // PNG stores big-endian
  } else {
    img.pixels = std::move(bytes);
  }
  return img;
}

}  // namespace medvqa::image::detail
