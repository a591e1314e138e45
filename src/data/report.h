#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace medvqa::data {

// What a reader did with each row, so a run can say exactly what data it trained on.
struct ReadReport {
  size_t rows = 0;      // rows (questions, captions) found in the file
  size_t kept = 0;      // rows returned
  size_t filtered = 0;  // rows left out on purpose by an option (language): not problems
  // "row N: reason" for every row dropped because it is unusable. N counts from 1: the element
  // of a JSON array, or the line of a text, CSV or JSONL file where the row starts.
  std::vector<std::string> skipped;
};

}  // namespace medvqa::data
