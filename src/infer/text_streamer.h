#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace medvqa::infer {

// Receives an answer's text piece by piece while it is generated (streaming).
using TextSink = std::function<void(const std::string& piece)>;

// The text of an answer as its tokens come, in pieces a client can show at once. Each piece ends
// on a whole UTF-8 character (a byte-level token can end inside one) and the pieces join to the
// answer as Answerer gives it: leading whitespace is dropped, trailing whitespace held back until
// more text follows (Answerer trims both).
class TextStreamer {
 public:
  explicit TextStreamer(const text::Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  // The new text that `token` completes ("" when none yet).
  std::string push(int64_t token);
  // What is left of the finished `answer` after the pieces so far ("" when it does not begin with
  // them: an answer replaced after generation, which a stream must not be used for).
  std::string finish(const std::string& answer) const;

 private:
  const text::Tokenizer* tokenizer_;
  std::vector<int64_t> ids_;
  std::string sent_;
};

// The whole of a finished answer in the pieces TextStreamer makes of its tokens.
std::vector<std::string> stream_pieces(const text::Tokenizer& tokenizer, const std::string& answer);

}  // namespace medvqa::infer
