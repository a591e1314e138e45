#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "data/normalize.h"
#include "data/readers.h"
#include "data/reading.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::data {
namespace {
namespace fs = std::filesystem;

struct Line {
  size_t number;
  std::vector<std::string> fields;  // split at '|', whitespace-cleaned
};

// The non-empty lines of a QA file, split at '|'.
std::vector<Line> read_pipe_lines(const std::string& path) {
  std::vector<Line> lines;
  std::istringstream in(io::read_text_file(path));
  size_t number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (collapse_whitespace(text).empty()) continue;
    Line line{number, {}};
    std::istringstream fields(text);
    for (std::string f; std::getline(fields, f, '|');) line.fields.push_back(collapse_whitespace(f));
    if (!text.empty() && text.back() == '|') line.fields.emplace_back();  // getline drops a final empty field
    lines.push_back(std::move(line));
  }
  return lines;
}

// "C2_Plane_train.txt" -> "plane"; "" for any other name.
std::string category_from_file_name(const fs::path& file) {
  static const std::regex pattern("C[1-4]_([A-Za-z]+).*");
  std::smatch m;
  const std::string name = file.filename().string();
  if (!std::regex_match(name, m, pattern)) return {};
  std::string category = m[1];
  std::transform(category.begin(), category.end(), category.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return category;
}

// (image id|question) -> category, from the per-category files of QAPairsByCategory/ beside an
// All_QA_Pairs file, which carry the category the combined file leaves out.
std::map<std::string, std::string> categories_beside(const fs::path& qa_file) {
  std::map<std::string, std::string> categories;
  const fs::path dir = qa_file.parent_path() / "QAPairsByCategory";
  if (!fs::is_directory(dir)) return categories;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string category = category_from_file_name(entry.path());
    if (category.empty() || !entry.is_regular_file()) continue;
    for (const Line& line : read_pipe_lines(entry.path().string()))
      if (line.fields.size() == 3) categories[line.fields[0] + "|" + line.fields[1]] = category;
  }
  return categories;
}

// The release keeps images in one folder named *images beside the QA file (train_images,
// val_images, VQAMed2019_Test_Images); category files sit one level further down.
std::string default_images_dir(const fs::path& qa_file) {
  for (const fs::path& dir : {qa_file.parent_path(), qa_file.parent_path().parent_path()}) {
    std::vector<fs::path> found;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
      if (entry.is_directory() && name.size() >= 6 && name.compare(name.size() - 6, 6, "images") == 0)
        found.push_back(entry.path());
    }
    if (found.size() == 1) return found[0].string();
  }
  throw Error(qa_file.string() + ": no single *images folder beside it; give the images folder");
}

}  // namespace

std::vector<VqaExample> read_vqa_med_2019(const std::string& path, const std::string& images_dir,
                                          const ReadOptions& options, ReadReport* report) {
  detail::RowReader reader(path, options, report);
  const std::vector<Line> lines = read_pipe_lines(path);
  const std::string dir = images_dir.empty() ? default_images_dir(path) : images_dir;
  const std::string file_category = category_from_file_name(path);
  const auto categories = file_category.empty() ? categories_beside(path) : std::map<std::string, std::string>{};
  const std::string stem = fs::path(path).stem().string();
  std::vector<VqaExample> out;
  for (const Line& line : lines) {
    reader.count_row();
    const auto& f = line.fields;
    if (f.size() != 3 && f.size() != 4)
      reader.fail(line.number, "expected synpicID|question|answer or synpicID|category|question|answer, found " +
                                   std::to_string(f.size()) + " fields");
    VqaExample ex;
    ex.id = stem + ":" + std::to_string(line.number);
    ex.question = f[f.size() - 2];
    ex.answer = f.back();
    if (f.size() == 4) {
      ex.question_type = f[1];
    } else if (!file_category.empty()) {
      ex.question_type = file_category;
    } else if (const auto it = categories.find(f[0] + "|" + ex.question); it != categories.end()) {
      ex.question_type = it->second;
    }
    // The release has no OPEN/CLOSED field; its closed questions are exactly the yes/no ones.
    const std::string normalized = normalize_answer(ex.answer);
    ex.answer_type = normalized == "yes" || normalized == "no" ? "CLOSED" : "OPEN";
    ex.language = "en";
    ex.split = reader.split();
    if (reader.accept(line.number, ex, dir, f[0].empty() ? "" : f[0] + ".jpg")) out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace medvqa::data
