#include "data/readers.h"
#include "data/reading.h"

namespace medvqa::data {
namespace {

// MedPix authors left these in place of a caption they never wrote.
bool is_placeholder(const std::string& caption) {
  return caption == "IN PROGRESS" || caption == "IN PROGRESS.";
}

}  // namespace

std::vector<CaptionExample> read_medpix(const std::string& path, const std::string& images_dir,
                                        const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "images");
  const nlohmann::json rows = detail::read_json_array(path);
  std::vector<CaptionExample> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const size_t row = i + 1;
    const nlohmann::json& r = rows[i];
    reader.count_row();
    if (!r.is_object()) reader.fail(row, "expected an object");
    const auto description = r.find("Description");
    if (description == r.end() || !description->is_object()) reader.fail(row, "missing \"Description\" object");
    const std::string image = detail::text_field(reader, row, r, "image");
    const std::string text = detail::text_field(reader, row, *description, "Caption");
    if (is_placeholder(text)) {
      reader.skip(row, "placeholder caption \"" + text + "\"");
      continue;
    }
    std::string header = detail::optional_text_field(reader, row, *description, "Modality");
    const std::string plane = detail::optional_text_field(reader, row, *description, "Plane");
    if (!plane.empty()) header += (header.empty() ? "" : ", ") + plane;
    CaptionExample ex;
    ex.id = image;
    ex.caption = text.empty() || header.empty() ? text : header + ": " + text;
    if (reader.accept(row, ex, dir, image.empty() ? "" : image + ".jpg")) out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
