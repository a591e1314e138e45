#pragma once
// Bookkeeping and field access shared by the dataset readers; not part of the public API.
#include <nlohmann/json.hpp>

#include <string>

#include "data/readers.h"

namespace medvqa::data::detail {

// Tracks one file being read: counts rows, records skips, applies the options, and words
// errors as "<path>: row N: <problem>".
class RowReader {
 public:
  RowReader(std::string path, const ReadOptions& options, ReadReport* report);

  // The split every example of this file belongs to (options.split, else from the file name).
  const std::string& split() const { return split_; }

  void count_row() { ++report_->rows; }
  void skip(size_t row, const std::string& reason);
  // Applies options.languages and the skip rules (no question, no answer, no image name, a
  // missing image when images are optional) and sets image_path; true when the row is kept.
  bool accept(size_t row, VqaExample& example, const std::string& images_dir, const std::string& image_name);
  bool accept(size_t row, CaptionExample& example, const std::string& images_dir, const std::string& image_name);
  [[noreturn]] void fail(size_t row, const std::string& problem) const;
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  // images_dir/name, or "" after recording a skip (or an Error when images are required).
  std::string image(size_t row, const std::string& images_dir, const std::string& name);

  std::string path_;
  std::string split_;
  const ReadOptions& options_;
  ReadReport local_report_;
  ReadReport* report_;
};

// The whole file as a JSON array, or an Error naming the file.
nlohmann::json read_json_array(const std::string& path);

// Field `key` of a JSON object row as cleaned text (collapse_whitespace): strings as written,
// numbers in their JSON spelling, null as "". A missing key or another type is an Error.
std::string text_field(const RowReader& reader, size_t row, const nlohmann::json& object, const char* key);
// The same, but a missing key reads as "".
std::string optional_text_field(const RowReader& reader, size_t row, const nlohmann::json& object, const char* key);

// "OPEN" / "CLOSED" whatever the case and stray spaces ("CLOSED " in VQA-RAD); other values
// uppercased and trimmed; "" stays "".
std::string normalize_answer_type(const std::string& raw);

// `images_dir` when given, else `sub` in the folder holding `path`.
std::string images_dir_or(const std::string& images_dir, const std::string& path, const char* sub);

}  // namespace medvqa::data::detail
