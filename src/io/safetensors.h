#pragma once
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "io/mapped_file.h"

namespace medvqa::io {

struct TensorEntry {
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0;  // byte offsets into the data section
  size_t end = 0;
};

// A validated, memory-mapped .safetensors file. Opening checks the whole header against the file
// (lengths, offsets, overlaps, dtypes, shapes), so later tensor access cannot read out of bounds.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<std::string>& names() const { return names_; }  // in data-offset order
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const TensorEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A CPU tensor viewing the mapped bytes (zero copy when suitably aligned); it keeps the mapping
  // alive, and writes to it stay private to this process.
  torch::Tensor tensor(const std::string& name) const;
  std::map<std::string, torch::Tensor> tensors() const;

 private:
  std::shared_ptr<MappedFile> file_;
  size_t data_offset_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any device, any layout) as safetensors, atomically. Keys are written sorted,
// data 8-byte aligned, as the reference implementation does.
void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace medvqa::io
