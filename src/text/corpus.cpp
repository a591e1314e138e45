#include "text/corpus.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::text {

namespace {

void add_document(std::vector<std::string>& docs, std::string_view text) {
  const char* space = " \t\r\n\v\f";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return;
  const size_t end = text.find_last_not_of(space);
  docs.emplace_back(text.substr(begin, end - begin + 1));
}

// Strings as they are; numbers and booleans as JSON writes them; null and the rest give nothing.
void add_json_text(std::vector<std::string>& docs, const nlohmann::json& value) {
  if (value.is_string())
    add_document(docs, value.get_ref<const std::string&>());
  else if (value.is_number() || value.is_boolean())
    add_document(docs, value.dump());
}

std::vector<std::string> from_json_rows(const std::string& path, const std::string& text) {
  nlohmann::json rows;
  try {
    rows = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  if (!rows.is_array()) throw Error(path + ": expected a JSON array of dataset rows");
  std::vector<std::string> docs;
  bool known = false;
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    if (auto d = row.find("Description"); d != row.end() && d->is_object() && d->contains("Caption")) {
      known = true;
      add_json_text(docs, d->at("Caption"));
    } else if (row.contains("question") || row.contains("answer")) {
      known = true;
      if (auto q = row.find("question"); q != row.end()) add_json_text(docs, *q);
      if (auto a = row.find("answer"); a != row.end()) add_json_text(docs, *a);
    }
  }
  if (!known && !rows.empty())
    throw Error(path + ": not a known dataset file (no row has question/answer or Description.Caption)");
  return docs;
}

template <typename F>
void for_each_line(const std::string& text, F&& f) {
  size_t number = 1;
  for (size_t pos = 0; pos < text.size(); ++number) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    f(std::string_view(text).substr(pos, end - pos), number);
    pos = end + 1;
  }
}

std::vector<std::string> from_qa_pairs(const std::string& path, const std::string& text) {
  std::vector<std::string> docs;
  for_each_line(text, [&](std::string_view line, size_t number) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    const size_t first = line.find('|');
    const size_t second = first == std::string_view::npos ? first : line.find('|', first + 1);
    if (second == std::string_view::npos)
      throw Error(path + ":" + std::to_string(number) + ": expected image|question|answer");
    add_document(docs, line.substr(first + 1, second - first - 1));
    add_document(docs, line.substr(second + 1));
  });
  return docs;
}

}  // namespace

std::vector<std::string> corpus_from_file(const std::string& path) {
  const std::string text = io::read_text_file(path);
  const std::string name = std::filesystem::path(path).filename().string();
  if (std::filesystem::path(path).extension() == ".json") return from_json_rows(path, text);
  if (name.rfind("All_QA_Pairs", 0) == 0) return from_qa_pairs(path, text);
  std::vector<std::string> docs;
  for_each_line(text, [&](std::string_view line, size_t) { add_document(docs, line); });
  return docs;
}

std::vector<std::string> read_corpus_files(const std::vector<std::string>& paths) {
  std::vector<std::string> docs;
  for (const std::string& path : paths) {
    std::vector<std::string> more = corpus_from_file(path);
    docs.insert(docs.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return docs;
}

}  // namespace medvqa::text
