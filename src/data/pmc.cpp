// The paper's full-scale formats: PMC-VQA (csv) and PMC-OA (jsonl).
#include <filesystem>
#include <map>
#include <sstream>

#include "data/csv.h"
#include "data/normalize.h"
#include "data/readers.h"
#include "data/reading.h"
#include "io/mapped_file.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;

// PMC-VQA writes options as "A:Pancreatic cancer " (sometimes "A: ..."); the letter is the
// column's, so it carries nothing.
std::string choice_text(const std::string& raw, char letter) {
  if (raw.size() >= 2 && raw[0] == letter && raw[1] == ':') return collapse_whitespace(raw.substr(2));
  return raw;
}

}  // namespace

std::vector<VqaExample> read_pmc_vqa(const std::string& path, const std::string& images_dir,
                                     const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "images");
  const std::vector<CsvRecord> records = parse_csv(io::read_text_file(path), path);
  if (records.empty()) reader.fail("empty file, expected a header row");

  std::map<std::string, size_t> column;
  for (size_t c = 0; c < records[0].fields.size(); ++c) column[collapse_whitespace(records[0].fields[c])] = c;
  for (const char* required : {"Figure_path", "Question"})
    if (!column.count(required)) reader.fail(std::string("missing column \"") + required + "\"");
  if (!column.count("Answer") && !column.count("Answer_label"))
    reader.fail("missing column \"Answer\" (or \"Answer_label\")");

  const std::string stem = fs::path(path).stem().string();
  std::vector<VqaExample> out;
  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& record = records[i];
    reader.count_row();
    if (record.fields.size() != records[0].fields.size())
      reader.fail(record.line, std::to_string(record.fields.size()) + " fields, the header has " +
                                   std::to_string(records[0].fields.size()));
    const auto get = [&](const std::string& name) {
      const auto it = column.find(name);
      return it == column.end() ? std::string() : collapse_whitespace(record.fields[it->second]);
    };
    VqaExample ex;
    ex.id = stem + ":" + std::to_string(record.line);
    ex.question = get("Question");
    for (char letter : {'A', 'B', 'C', 'D'}) {
      const std::string choice = choice_text(get(std::string("Choice ") + letter), letter);
      if (!choice.empty()) ex.choices.push_back(choice);
    }
    ex.answer = get("Answer");
    const std::string label = get("Answer_label");
    if (ex.answer.empty() && label.size() == 1 && label[0] >= 'A' && label[0] <= 'D')
      ex.answer = choice_text(get(std::string("Choice ") + label), label[0]);
    ex.language = "en";
    const std::string split = get("split");
    ex.split = split.empty() || !options.split.empty() ? reader.split() : split;
    if (reader.accept(record.line, ex, dir, get("Figure_path"))) out.push_back(std::move(ex));
  }
  return out;
}

std::vector<CaptionExample> read_pmc_oa(const std::string& path, const std::string& images_dir,
                                        const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::string dir = detail::images_dir_or(images_dir, path, "images");
  std::istringstream in(io::read_text_file(path));
  const std::string stem = fs::path(path).stem().string();
  std::vector<CaptionExample> out;
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (collapse_whitespace(line).empty()) continue;
    reader.count_row();
    nlohmann::json r;
    try {
      r = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      reader.fail(line_number, std::string("invalid JSON: ") + e.what());
    }
    if (!r.is_object()) reader.fail(line_number, "expected an object");
    CaptionExample ex;
    ex.id = stem + ":" + std::to_string(line_number);
    ex.caption = detail::text_field(reader, line_number, r, "caption");
    if (reader.accept(line_number, ex, dir, detail::text_field(reader, line_number, r, "image")))
      out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
