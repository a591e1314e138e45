#pragma once
#include <string>
#include <vector>

namespace medvqa::data {

struct CsvRecord {
  size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// RFC 4180: comma-separated fields, double-quoted fields may hold commas, newlines and doubled
// quotes (""), records end in LF or CRLF. A leading UTF-8 byte-order mark is dropped, and so are
// empty lines, which spreadsheet exports leave at the end. `what` names the source in errors
// (an unterminated quote, a quote inside an unquoted field).
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& what);

}  // namespace medvqa::data
