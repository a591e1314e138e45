#pragma once
#include <stdexcept>
#include <string>

namespace medvqa {

// Every user-facing failure (bad file, bad input, bad config) is a medvqa::Error whose message
// names the thing and the problem; the CLI and the server turn it into a clean message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace medvqa
