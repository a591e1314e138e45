#include "data/readers.h"
#include "data/reading.h"

namespace medvqa::data {

std::vector<VqaExample> read_slake(const std::string& path, const std::string& images_dir,
                                   const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "imgs");
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
    // Taken as text, so the literal answer "None" (no abnormality found) stays an answer.
    ex.answer = detail::text_field(reader, row, r, "answer");
    ex.answer_type = detail::normalize_answer_type(detail::text_field(reader, row, r, "answer_type"));
    ex.question_type = detail::optional_text_field(reader, row, r, "content_type");
    ex.language = detail::text_field(reader, row, r, "q_lang");
    ex.split = reader.split();
    if (reader.accept(row, ex, dir, detail::text_field(reader, row, r, "img_name"))) out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
