// An uploaded image from anywhere: format sniffing, PNG, JPEG and DICOM (with windowing) decoding
// under the server's pixel limit, then the model's preprocessing. Only medvqa::Error may come out.
#include "image/image.h"
#include "image/preprocess.h"
#include "io/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the window, so the fuzzer reaches DICOM's windowing paths too.
  if (size == 0) return 0;
  medvqa::image::DecodeOptions options;
  if (data[0] & 1) options.window = medvqa::image::Window{40.0 + data[0], 1.0 + 4.0 * data[0]};
  try {
    auto image = medvqa::image::decode_image(data + 1, size - 1, "fuzz input", options);
    (void)medvqa::image::preprocess(image, {.image_size = 32});
  } catch (const medvqa::Error&) {
  }
  return 0;
}
