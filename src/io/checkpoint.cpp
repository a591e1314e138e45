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

// The error_code overloads throughout: the throwing ones raise filesystem_error for a name the
// system refuses (longer than NAME_MAX, found by fuzz/checkpoint_index_fuzzer), not a medvqa::Error.
std::string resolve(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory" + (ec ? " (" + ec.message() + ")" : ""));
  if (!fs::is_directory(path, ec)) return path;
  for (const char* name : kCheckpointNames) {
    fs::path p = fs::path(path) / name;
    if (fs::exists(p, ec)) return p.string();
  }
  throw Error(path + ": no checkpoint file found (looked for model.safetensors, pytorch_model.bin, "
                     "open_clip_model.safetensors, adapter_model.safetensors and their .index.json shards)");
}

// A sharded checkpoint's index: which shard holds each tensor.
struct ShardIndex {
  std::vector<std::string> files;               // sorted, beside the index
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
};

ShardIndex read_index(const std::string& index_path) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_text_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(index_path + ": invalid JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(index_path + ": no weight_map object");
  ShardIndex out;
  std::set<std::string> shards;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it->is_string()) throw Error(index_path + ": weight_map values must be file names");
    std::string shard = it->get<std::string>();
    // Shards live beside the index; a path here could make the index read any file.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      throw Error(index_path + ": shard '" + shard + "' is not a plain file name");
    out.weight_map[it.key()] = shard;
    shards.insert(shard);
  }
  const fs::path dir = fs::path(index_path).parent_path();
  for (const auto& s : shards) {
    fs::path file = dir / s;
    std::error_code ec;
    if (!fs::exists(file, ec))
      throw Error(index_path + ": shard " + s + " is missing (expected at " + file.string() + ")" +
                  (ec ? ": " + ec.message() : ""));
    out.files.push_back(file.string());
  }
  return out;
}

StateDict load_file(const std::string& file) {
  if (ends_with(file, ".safetensors")) return SafetensorsFile::open(file).tensors();
  return load_torch_zip(file);
}

}  // namespace

std::vector<std::string> checkpoint_files(const std::string& path) {
  std::string file = resolve(path);
  if (ends_with(file, ".index.json")) return read_index(file).files;
  return {file};
}

StateDict load_checkpoint(const std::string& path) {
  const std::string file = resolve(path);
  if (!ends_with(file, ".index.json")) return load_file(file);
  const ShardIndex index = read_index(file);
  StateDict out;
  for (const auto& shard : index.files) {
    for (auto& [k, v] : load_file(shard)) {
      if (out.count(k)) throw Error(shard + ": tensor '" + k + "' also appears in another shard");
      out.emplace(k, v);
    }
  }
  for (const auto& [name, shard] : index.weight_map)
    if (!out.count(name)) throw Error(file + ": lists tensor '" + name + "' in " + shard + ", which does not hold it");
  return out;
}

}  // namespace medvqa::io
