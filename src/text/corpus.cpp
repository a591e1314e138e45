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
  } catch (const nlohmann::json::exception& e) {
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
    } else if (row.contains("Case") || row.contains("Topic")) {
      // MedPix Case_topic.json: every text field of the case and its topic, named ("Findings: ...").
      for (const char* part : {"Case", "Topic"}) {
        auto p = row.find(part);
        if (p == row.end() || !p->is_object()) continue;
        known = true;
        for (const auto& [field, value] : p->items())
          if (value.is_string() && value.get_ref<const std::string&>() != "N/A")
            add_document(docs, field + ": " + value.get<std::string>());
      }
    } else if (row.contains("question") || row.contains("answer")) {
      known = true;
      if (auto q = row.find("question"); q != row.end()) add_json_text(docs, *q);
      if (auto a = row.find("answer"); a != row.end()) add_json_text(docs, *a);
    }
  }
  if (!known && !rows.empty())
    throw Error(path + ": not a known dataset file (no row has question/answer, Description.Caption or Case/Topic)");
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

// A tab-separated file whose header names a "caption" column (ROCO captions.tsv): that column.
std::vector<std::string> from_caption_table(const std::string& path, const std::string& text) {
  std::vector<std::string> docs;
  size_t column = std::string::npos;
  for_each_line(text, [&](std::string_view line, size_t number) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields;
    for (size_t pos = 0;;) {
      size_t tab = line.find('\t', pos);
      fields.push_back(line.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos));
      if (tab == std::string_view::npos) break;
      pos = tab + 1;
    }
    if (number == 1) {
      for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == "caption") column = i;
      if (column == std::string::npos) throw Error(path + ": the header names no 'caption' column");
      return;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
    if (fields.size() <= column)
      throw Error(path + ":" + std::to_string(number) + ": fewer columns than the header's 'caption'");
    add_document(docs, fields[column]);
  });
  return docs;
}

// A '#'-separated triple file with a header "<subject>#attribute#value" (the SLAKE knowledge
// graph's en_disease.csv, en_organ.csv, en_organ_rel.csv): "<subject> <attribute>: <value>".
std::vector<std::string> from_triples(const std::string& path, const std::string& text) {
  std::vector<std::string> docs;
  for_each_line(text, [&](std::string_view line, size_t number) {
    if (number == 1 || line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    const size_t first = line.find('#');
    const size_t second = first == std::string_view::npos ? first : line.find('#', first + 1);
    if (second == std::string_view::npos)
      throw Error(path + ":" + std::to_string(number) + ": expected subject#attribute#value");
    add_document(docs, std::string(line.substr(0, first)) + " " +
                           std::string(line.substr(first + 1, second - first - 1)) + ": " +
                           std::string(line.substr(second + 1)));
  });
  return docs;
}

bool is_triple_header(const std::string& text) {
  const std::string header = text.substr(0, text.find('\n'));
  return header.find("#attribute#value") != std::string::npos;
}

}  // namespace

std::vector<std::string> corpus_from_file(const std::string& path) {
  const std::string text = io::read_text_file(path);
  const std::string name = std::filesystem::path(path).filename().string();
  if (std::filesystem::path(path).extension() == ".json") return from_json_rows(path, text);
  if (name.rfind("All_QA_Pairs", 0) == 0) return from_qa_pairs(path, text);
  if (std::filesystem::path(path).extension() == ".tsv") return from_caption_table(path, text);
  if (std::filesystem::path(path).extension() == ".csv" && is_triple_header(text)) return from_triples(path, text);
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
