#include "train/metrics_log.h"

#include <filesystem>
#include <fstream>

#include "io/atomic_file.h"
#include "io/error.h"

namespace medvqa::train {

void MetricsLog::append(const nlohmann::json& line) const {
  std::ofstream out(path_, std::ios::app);
  out << line.dump() << "\n";
  out.flush();
  if (!out) throw Error(path_ + ": cannot append a line (disk full?)");
}

void MetricsLog::clear() const { std::filesystem::remove(path_); }

void MetricsLog::resume_at(int64_t step) const {
  if (!std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: the line a killed process was writing
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() <= step)
      kept += line + "\n";
  }
  io::write_file_atomically(path_, kept);
}

}  // namespace medvqa::train
