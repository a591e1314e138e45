#pragma once
#include <gtest/gtest.h>
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace medvqa::testing {

// Root of the golden reference set: $MEDVQA_GOLDEN, else ../shared/golden beside the checkout.
std::string golden_root();
// Root of the datasets: $MEDVQA_DATA, else ../shared/data beside the checkout.
std::string data_root();
// The source checkout and the medvqa executable ($MEDVQA_SOURCE_DIR / $MEDVQA_BINARY override).
std::string source_dir();
std::string binary_path();

// Runs the medvqa executable with `args` (a shell command line) and collects its output.
struct Run {
  int status;          // exit status, -1 when it did not exit normally
  std::string output;  // stdout, then stderr when `stderr_too`
};
Run medvqa(const std::string& args, bool stderr_too = true);
// Runs a /bin/sh command line and collects its stdout.
Run run_shell(const std::string& command);
// Subdirectories of `dir` that contain `marker` (e.g. every bloom model dir holding config.json),
// sorted, so tests discover cases from the files instead of hard-coding them.
std::vector<std::string> subdirs_with(const std::string& dir, const std::string& marker);

// A whole file's bytes, and writing them (both throw on failure).
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// The message of the medvqa::Error `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// A fresh temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// |actual - expected| <= atol + rtol * |expected| elementwise (both cast to float64), with a
// message giving the max abs error and where it is. Also prints the max error so test logs
// record the measured figure.
::testing::AssertionResult all_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                     double rtol, const std::string& what);

}  // namespace medvqa::testing
