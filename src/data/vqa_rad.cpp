#include <map>

#include "data/readers.h"
#include "data/reading.h"

namespace medvqa::data {
namespace {

// VQA-RAD's question types are upper-case codes ("PRES, ATTRIB" when several), with a few
// spelling slips in the release ("Other", "ATRIB", "PRSE").
std::string question_type_code(const std::string& raw) {
  static const std::map<std::string, std::string> slips = {{"ATRIB", "ATTRIB"}, {"PRSE", "PRES"}};
  std::string code = detail::normalize_answer_type(raw);
  const auto it = slips.find(code);
  return it == slips.end() ? code : it->second;
}

}  // namespace

std::vector<VqaExample> read_vqa_rad(const std::string& path, const std::string& images_dir,
                                     const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "images");
  const nlohmann::json rows = detail::read_json_array(path);
  std::vector<VqaExample> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t row = i + 1;
    const nlohmann::json& r = rows[i];
    reader.count_row();
    if (!r.is_object()) reader.fail(row, "expected an object");
    VqaExample ex;
    ex.id = detail::text_field(reader, row, r, "qid");
    ex.question = detail::text_field(reader, row, r, "question");
    ex.answer = detail::text_field(reader, row, r, "answer");
    ex.answer_type = detail::normalize_answer_type(detail::text_field(reader, row, r, "answer_type"));
    ex.question_type = question_type_code(detail::optional_text_field(reader, row, r, "question_type"));
    ex.language = "en";
    ex.split = reader.split();
    if (reader.accept(row, ex, dir, detail::text_field(reader, row, r, "image_name"))) out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
