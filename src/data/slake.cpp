#include <algorithm>
#include <filesystem>
#include <map>

#include "data/readers.h"
#include "data/reading.h"
#include "io/error.h"

namespace medvqa::data {
namespace {

// The organ names of detection.json beside a SLAKE image ([{"Liver": [x, y, w, h]}, ...]),
// comma-separated in file order without repeats; "" when there is no such file.
std::string detected_organs(const std::string& image_path) {
  const auto path = std::filesystem::path(image_path).parent_path() / "detection.json";
  if (!std::filesystem::exists(path)) return {};
  std::vector<std::string> organs;
  for (const auto& box : detail::read_json_array(path.string())) {
    if (!box.is_object()) throw Error(path.string() + ": expected objects {organ: box}");
    for (const auto& [name, _] : box.items())
      if (std::find(organs.begin(), organs.end(), name) == organs.end()) organs.push_back(name);
  }
  std::string joined;
  for (const auto& o : organs) joined += (joined.empty() ? "" : ", ") + o;
  return joined;
}

}  // namespace

std::vector<VqaExample> read_slake(const std::string& path, const std::string& images_dir,
                                   const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "imgs");
  const nlohmann::json rows = detail::read_json_array(path);
  std::vector<VqaExample> out;
  std::map<std::string, std::string> organs_by_image;
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t row = i + 1;
    const nlohmann::json& r = rows[i];
    reader.count_row();
    if (!r.is_object()) reader.fail(row, "expected an object");
    VqaExample ex;
    ex.id = detail::text_field(reader, row, r, "qid");
    ex.question = detail::text_field(reader, row, r, "question");
    // Taken as text, so the literal answer "None" (no abnormality found) stays an answer.
    ex.answer = detail::text_field(reader, row, r, "answer");
    ex.answer_type = detail::normalize_answer_type(detail::text_field(reader, row, r, "answer_type"));
    ex.question_type = detail::optional_text_field(reader, row, r, "content_type");
    ex.language = detail::text_field(reader, row, r, "q_lang");
    ex.split = reader.split();
    for (const char* key : {"modality", "location"}) {
      std::string value = detail::optional_text_field(reader, row, r, key);
      if (!value.empty()) ex.image_attributes.emplace_back(key, value);
    }
    if (!reader.accept(row, ex, dir, detail::text_field(reader, row, r, "img_name"))) continue;
    auto organs = organs_by_image.find(ex.image_path);
    if (organs == organs_by_image.end()) organs = organs_by_image.emplace(ex.image_path, detected_organs(ex.image_path)).first;
    if (!organs->second.empty()) ex.image_attributes.emplace_back("organs", organs->second);
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
