#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "model/threads.h"

namespace medvqa::app {
namespace fs = std::filesystem;

namespace {

// `relative` in the project tree the executable belongs to, found by walking up from it
// (build/src/medvqa, or an install's bin/) to a folder holding `relative/marker`.
std::string project_path(const std::string& relative, const std::string& marker) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    fs::path candidate = dir / relative;
    if (fs::exists(candidate / marker)) return candidate.string();
  }
  return relative;
}

}  // namespace

std::string default_model_dir() {
  if (const char* env = std::getenv("MEDVQA_MODEL"); env != nullptr && *env) return env;
  return project_path("models/medvqa-small", "config.json");
}

std::string default_web_dir() { return project_path("web", "index.html"); }

void set_threads(int threads) { model::set_compute_threads(threads); }

}  // namespace medvqa::app
