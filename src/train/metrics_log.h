#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace medvqa::train {

// A run's metrics.jsonl: one JSON object per line, each with the "step" it belongs to.
class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // Appends one line; a failed write (a full disk) is a medvqa::Error naming the file.
  void append(const nlohmann::json& line) const;
  // A run resumed from its checkpoint at `step` logs the later steps again: the lines a killed
  // process wrote after that checkpoint go, with a line it was killed in the middle of, so the
  // log reads as one uninterrupted run. Rewritten atomically; a missing log stays missing.
  void resume_at(int64_t step) const;
  // A run that starts from step 0 (new, or killed before its first checkpoint) starts a new log.
  void clear() const;

 private:
  std::string path_;
};

}  // namespace medvqa::train
