// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>

#include "image/decoders.h"
#include "io/error.h"

namespace medvqa::image::detail {
namespace {

// libjpeg's error_exit must not return: it records the message and longjmps back into guarded().
struct JpegErrors {
  jpeg_error_mgr mgr;  // first member: libjpeg hands callbacks a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void on_error_exit(j_common_ptr cinfo) { fail(cinfo); }

// Corrupt-data warnings are tolerated as PIL tolerates them, but running out of data is an error:
// libjpeg would otherwise pad the image with gray, where PIL raises "image file is truncated".
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) fail(cinfo);
}

struct JpegState {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  bool created = false;

  ~JpegState() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// The longjmp skips only libjpeg's frames, our callbacks and `step`'s, none of which own C++
// objects, so no destructor is bypassed.
template <class Step>
void guarded(JpegState& st, const std::string& origin, Step&& step) {
  if (setjmp(st.errors.jump)) throw Error(origin + ": invalid JPEG: " + st.errors.message);
  step();
}

// PIL opens 4-component JPEGs as inverted ("Adobe") CMYK; this is its CMYK -> RGB conversion.
// Done at decode time because the rest of the pipeline has no CMYK mode (PIL would resize in CMYK
// and convert afterwards, which differs only by rounding).
std::vector<uint8_t> inverted_cmyk_to_rgb(const std::vector<uint8_t>& cmyk) {
  const auto muldiv255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  std::vector<uint8_t> rgb(cmyk.size() / 4 * 3);
  for (size_t i = 0, o = 0; i < cmyk.size(); i += 4, o += 3) {
    const int nk = cmyk[i + 3];  // 255 - k after the inversion
    for (int c = 0; c < 3; ++c) rgb[o + c] = uint8_t(std::max(0, nk - muldiv255(255 - cmyk[i + c], nk)));
  }
  return rgb;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& origin, const DecodeOptions& options) {
  JpegState st;
  st.cinfo.err = jpeg_std_error(&st.errors.mgr);
  st.errors.mgr.error_exit = on_error_exit;
  st.errors.mgr.emit_message = on_message;
  guarded(st, origin, [&] {
    jpeg_create_decompress(&st.cinfo);
    st.created = true;
    jpeg_mem_src(&st.cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&st.cinfo, TRUE);
  });
  check_dimensions(st.cinfo.image_width, st.cinfo.image_height, origin, options);

  // PIL picks the mode from the component count alone and lets libjpeg convert to it.
  switch (st.cinfo.num_components) {
    case 1:
      st.cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case 3:
      st.cinfo.out_color_space = JCS_RGB;
      break;
    case 4:
      st.cinfo.out_color_space = JCS_CMYK;
      break;
    default:
      throw Error(origin + ": unsupported JPEG with " + std::to_string(st.cinfo.num_components) + " components");
  }
  // PIL decodes with libjpeg's defaults; pin them so pixels match it bit for bit.
  st.cinfo.dct_method = JDCT_ISLOW;
  st.cinfo.do_fancy_upsampling = TRUE;
  guarded(st, origin, [&] { jpeg_start_decompress(&st.cinfo); });

  Image img;
  img.width = int(st.cinfo.output_width);
  img.height = int(st.cinfo.output_height);
  img.channels = st.cinfo.output_components;
  img.pixels.resize(img.sample_count());
  const size_t stride = size_t(img.width) * size_t(img.channels);
  // No jpeg_finish_decompress(): it only goes on to look for the EOI marker, which PIL does not
  // insist on either.
  guarded(st, origin, [&] {
    while (st.cinfo.output_scanline < st.cinfo.output_height) {
      JSAMPROW row = img.pixels.data() + size_t(st.cinfo.output_scanline) * stride;
      jpeg_read_scanlines(&st.cinfo, &row, 1);
    }
  });

  if (img.channels == 4) {
    img.pixels = inverted_cmyk_to_rgb(img.pixels);
    img.channels = 3;
  }
  return img;
}

}  // namespace medvqa::image::detail
