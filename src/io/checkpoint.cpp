#include "io/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "io/error.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"

namespace medvqa::io {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Files in a directory, in order of preference (safetensors before pickles, as HF does).
const char* const kCheckpointNames[] = {
    "model.safetensors.index.json", "model.safetensors",      "adapter_model.safetensors",
    "open_clip_model.safetensors",  "pytorch_model.bin.index.json", "pytorch_model.bin",
    "adapter_model.bin",            "open_clip_pytorch_model.bin",
};

std::string resolve(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such file or directory");
  if (!fs::is_directory(path)) return path;
  for (const char* name : kCheckpointNames) {
    fs::path p = fs::path(path) / name;
    if (fs::exists(p)) return p.string();
  }
  throw Error(path + ": no checkpoint file found (looked for model.safetensors, pytorch_model.bin, "
                     "open_clip_model.safetensors, adapter_model.safetensors and their .index.json shards)");
}

std::vector<std::string> shard_files(const std::string& index_path) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_text_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(index_path + ": invalid JSON: " + e.what());
  }
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(index_path + ": no weight_map object");
  std::set<std::string> shards;
  for (const auto& v : index["weight_map"]) {
    if (!v.is_string()) throw Error(index_path + ": weight_map values must be file names");
    shards.insert(v.get<std::string>());
  }
  std::vector<std::string> out;
  for (const auto& s : shards) out.push_back((fs::path(index_path).parent_path() / s).string());
  return out;
}

StateDict load_file(const std::string& file) {
  if (ends_with(file, ".safetensors")) return SafetensorsFile::open(file).tensors();
  return load_torch_zip(file);
}

}  // namespace

std::vector<std::string> checkpoint_files(const std::string& path) {
  std::string file = resolve(path);
  if (ends_with(file, ".index.json")) return shard_files(file);
  return {file};
}

StateDict load_checkpoint(const std::string& path) {
  StateDict out;
  for (const auto& file : checkpoint_files(path)) {
    for (auto& [k, v] : load_file(file)) {
      if (out.count(k)) throw Error(file + ": tensor '" + k + "' also appears in another shard");
      out.emplace(k, v);
    }
  }
  return out;
}

}  // namespace medvqa::io
