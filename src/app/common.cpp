#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "app/commands.h"

namespace medvqa::app {
namespace fs = std::filesystem;

std::string default_model_dir() {
  if (const char* env = std::getenv("MEDVQA_MODEL"); env != nullptr && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  // Walk up from the executable (build/src/medvqa, or an install's bin/) to a models/ folder.
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    fs::path candidate = dir / "models" / "medvqa-small";
    if (fs::exists(candidate / "config.json")) return candidate.string();
  }
  return "models/medvqa-small";
}

void set_threads(int threads) {
  if (threads > 0) torch::set_num_threads(threads);
}

}  // namespace medvqa::app
