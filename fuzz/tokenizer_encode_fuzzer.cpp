// Arbitrary bytes (not necessarily UTF-8) through the shipped model's tokenizer, as any question
// reaches it: encoding must succeed, every id lie in the vocabulary, and decoding the ids give back
// the text when it was valid UTF-8.
#include <cstdlib>

#include "text/tokenizer.h"
#include "text/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizer = medvqa::text::Tokenizer::from_file(MEDVQA_FUZZ_TOKENIZER);
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (bool special : {false, true}) {
    const auto ids = tokenizer.encode(text, special);
    for (int64_t id : ids)
      if (id < 0 || id >= tokenizer.vocab_size()) std::abort();
    if (!special && medvqa::text::is_valid_utf8(text) && tokenizer.decode(ids) != text) std::abort();
  }
  return 0;
}
