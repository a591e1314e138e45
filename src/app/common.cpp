#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "app/commands.h"
#include "io/error.h"
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

std::vector<std::string> parse_languages(const std::string& list) {
  if (list == "all") return {};
  std::vector<std::string> languages;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) languages.push_back(item);
  }
  if (languages.empty()) throw Error("--lang: no language given (e.g. en, or en,zh, or all)");
  return languages;
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

void set_threads(int threads) { model::set_compute_threads(threads); }

}  // namespace medvqa::app
