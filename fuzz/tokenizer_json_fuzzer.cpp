// A tokenizer.json from anywhere: loading it, and when it loads, encoding and decoding a question
// with it. Only medvqa::Error may come out.
#include "io/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto tokenizer = medvqa::text::Tokenizer::from_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
    auto ids = tokenizer.encode("Is there a pneumothorax in the left lung? 左肺有气胸吗？ <pad></s>");
    (void)tokenizer.decode(ids, /*skip_special_tokens=*/true);
  } catch (const medvqa::Error&) {
  }
  return 0;
}
