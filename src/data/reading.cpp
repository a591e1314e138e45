#include "data/reading.h"

#include <algorithm>
#include <filesystem>

#include "data/normalize.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::data::detail {
namespace fs = std::filesystem;

namespace {

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string split_from_file_name(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  const std::string lower = ascii_lower(stem);
  // trainset.json, validate.json, All_QA_Pairs_val.txt, VQAMed2019_Test_Questions...txt.
  for (const char* name : {"train", "test", "val"})
    if (lower.find(name) != std::string::npos) return name;
  return stem;
}

}  // namespace

RowReader::RowReader(std::string path, const ReadOptions& options, ReadReport* report)
    : path_(std::move(path)),
      split_(options.split.empty() ? split_from_file_name(path_) : options.split),
      options_(options),
      report_(report != nullptr ? report : &local_report_) {
  *report_ = ReadReport{};
}

void RowReader::skip(size_t row, const std::string& reason) {
  report_->skipped.push_back("row " + std::to_string(row) + ": " + reason);
}

bool RowReader::accept(size_t row, VqaExample& example, const std::string& images_dir,
                       const std::string& image_name) {
  const auto& keep = options_.languages;
  if (!keep.empty() && std::find(keep.begin(), keep.end(), example.language) == keep.end()) {
    ++report_->filtered;
    return false;
  }
  if (example.question.empty()) {
    skip(row, "missing question");
    return false;
  }
  if (example.answer.empty()) {
    skip(row, "empty answer");
    return false;
  }
  example.image_path = image(row, images_dir, image_name);
  if (example.image_path.empty()) return false;
  ++report_->kept;
  return true;
}

bool RowReader::accept(size_t row, CaptionExample& example, const std::string& images_dir,
                       const std::string& image_name) {
  if (example.caption.empty()) {
    skip(row, "empty caption");
    return false;
  }
  example.image_path = image(row, images_dir, image_name);
  if (example.image_path.empty()) return false;
  ++report_->kept;
  return true;
}

std::string RowReader::image(size_t row, const std::string& images_dir, const std::string& name) {
  if (name.empty()) {
    skip(row, "no image name");
    return {};
  }
  const std::string file = (fs::path(images_dir) / name).lexically_normal().string();
  if (fs::exists(file)) return file;
  if (options_.require_images) fail(row, "image not found: " + file);
  skip(row, "image not found: " + file);
  return {};
}

void RowReader::fail(size_t row, const std::string& problem) const {
  throw Error(path_ + ": row " + std::to_string(row) + ": " + problem);
}

void RowReader::fail(const std::string& problem) const { throw Error(path_ + ": " + problem); }

nlohmann::json read_json_array(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(io::read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  if (!doc.is_array()) throw Error(path + ": expected a JSON array of rows, found " + doc.type_name());
  return doc;
}

std::string optional_text_field(const RowReader& reader, size_t row, const nlohmann::json& object,
                                const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (it->is_string()) return collapse_whitespace(it->get<std::string>());
  // VQA-RAD writes some answers as JSON numbers (2, 12): they are the answer's text.
  if (it->is_number()) return it->dump();
  reader.fail(row, std::string("field \"") + key + "\" has type " + it->type_name() + ", expected text");
}

std::string text_field(const RowReader& reader, size_t row, const nlohmann::json& object, const char* key) {
  if (!object.contains(key)) reader.fail(row, std::string("missing field \"") + key + "\"");
  return optional_text_field(reader, row, object, key);
}

std::string normalize_answer_type(const std::string& raw) {
  std::string s = collapse_whitespace(raw);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return s;
}

std::string images_dir_or(const std::string& images_dir, const std::string& path, const char* sub) {
  if (!images_dir.empty()) return images_dir;
  return (fs::path(path).parent_path() / sub).string();
}

}  // namespace medvqa::data::detail
