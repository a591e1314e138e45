#include "testing/testing.h"

#include "io/error.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace medvqa::testing {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
namespace fs = std::filesystem;

namespace {
std::string from_env(const char* env, const std::string& fallback) {
  const char* v = std::getenv(env);
  return v != nullptr && *v ? v : fallback;
}
std::string shared_dir(const char* env, const char* sub) {
  return from_env(env, (fs::path(source_dir()) / ".." / "shared" / sub).lexically_normal().string());
}
}  // namespace

std::string source_dir() { return from_env("MEDVQA_SOURCE_DIR", MEDVQA_SOURCE_DIR); }
std::string binary_path() { return from_env("MEDVQA_BINARY", MEDVQA_BINARY); }

Run medvqa(const std::string& args, bool stderr_too) {
  return run_shell(binary_path() + " " + args + (stderr_too ? " 2>&1" : " 2>/dev/null"));
}

Run run_shell(const std::string& command) {
  Run r{0, ""};
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string golden_root() { return shared_dir("MEDVQA_GOLDEN", "golden"); }
std::string data_root() { return shared_dir("MEDVQA_DATA", "data"); }

std::vector<std::string> subdirs_with(const std::string& dir, const std::string& marker) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / marker)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TempDir::TempDir() {
  std::random_device rd;
  for (;;) {
    fs::path p = fs::temp_directory_path() / ("medvqa-test-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p.string();
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

::testing::AssertionResult all_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                     double rtol, const std::string& what) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream ss;
    ss << what << ": shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << ss.str();
  }
  auto a = actual.detach().to(torch::kCPU, torch::kFloat64);
  auto e = expected.detach().to(torch::kCPU, torch::kFloat64);
  auto diff = (a - e).abs();
  double max_err = a.numel() ? diff.max().item<double>() : 0.0;
  std::cout << "[max-error] " << what << " " << max_err << std::endl;
  auto bad = diff > (atol + rtol * e.abs());
  if (a.numel() && bad.any().item<bool>()) {
    auto idx = diff.flatten().argmax().item<int64_t>();
    std::ostringstream ss;
    ss << what << ": max |diff| " << max_err << " at flat index " << idx << " (actual "
       << a.flatten()[idx].item<double>() << ", expected " << e.flatten()[idx].item<double>() << "), "
       << bad.sum().item<int64_t>() << " of " << a.numel() << " elements outside atol " << atol << " rtol " << rtol;
    return ::testing::AssertionFailure() << ss.str();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace medvqa::testing
