#include "io/inspect.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/checkpoint.h"
#include "io/dtype.h"
#include "io/error.h"
#include "io/mapped_file.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* const kConfigNames[] = {"config.json", "open_clip_config.json", "adapter_config.json"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_scalar_list(const json& v) {
  if (!v.is_array()) return false;
  for (const auto& e : v)
    if (e.is_structured()) return false;
  return true;
}

// Sizes are what a reader of the listing wants from a config: top-level scalars, and the scalars
// of the sub-configs HF (`vision_config`) and open_clip (`model_cfg`, `vision_cfg`) nest.
void describe_settings(std::ostream& out, const json& obj, const std::string& prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const json& v = *it;
    if (v.is_primitive() || is_scalar_list(v))
      out << "  " << prefix << it.key() << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    else if (v.is_object() && (ends_with(it.key(), "_config") || ends_with(it.key(), "_cfg")))
      describe_settings(out, v, prefix + it.key() + ".");
  }
}

void describe_config(std::ostream& out, const std::string& file) {
  json config;
  try {
    config = json::parse(read_text_file(file));
  } catch (const json::exception& e) {
    throw Error(file + ": invalid JSON: " + e.what());
  }
  if (!config.is_object()) throw Error(file + ": not a JSON object");
  out << "config " << file << "\n";
  describe_settings(out, config, "");
}

std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

std::string describe_checkpoint(const std::string& path) {
  std::ostringstream out;
  if (fs::is_directory(path))
    for (const char* name : kConfigNames)
      if (fs::exists(fs::path(path) / name)) describe_config(out, (fs::path(path) / name).string());
  int64_t tensors = 0, parameters = 0, bytes = 0;
  for (const auto& file : checkpoint_files(path)) {
    StateDict dict = load_checkpoint(file);
    out << "file " << file << " (" << fs::file_size(file) << " bytes, " << dict.size() << " tensors)\n";
    for (const auto& [name, t] : dict) {
      out << "  " << name << " " << dtype_name(from_scalar_type(t.scalar_type())) << " " << shape_string(t) << "\n";
      ++tensors;
      parameters += t.numel();
      bytes += t.numel() * static_cast<int64_t>(t.element_size());
    }
  }
  out << "total " << tensors << " tensors, " << parameters << " parameters, " << bytes << " bytes\n";
  return out.str();
}

}  // namespace medvqa::io
