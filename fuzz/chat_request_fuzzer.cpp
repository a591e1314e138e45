// A chat-completions request body from anywhere, through what the server runs on it before the
// model: JSON parsing, the request's fields and messages, the data-URI image and its decoding.
// Anything wrong must be a RequestError (a 4xx for the client), never a crash.
#include "image/image.h"
#include "serve/openai.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto request = medvqa::serve::read_chat_request(std::string(reinterpret_cast<const char*>(data), size), 64);
    (void)medvqa::image::decode_image(request.image.data(), request.image.size(), "the uploaded image");
  } catch (const medvqa::serve::RequestError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
  } catch (const medvqa::Error&) {
    // The image was not one: the server answers that with a 400 too (decode_upload).
  }
  return 0;
}
