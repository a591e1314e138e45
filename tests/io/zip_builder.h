#pragma once
#include <string>
#include <vector>

namespace medvqa::testing {

struct ZipEntry {
  std::string name;
  std::string data;
  bool deflate = false;
};

// A zip archive laid out as torch.save does, built here so the reader's corner cases (deflate,
// ZIP64 records, damaged fields) can be tested without Python. With `zip64`, every size and offset
// goes through the ZIP64 extra fields and end records, as in checkpoints past 4 GB.
std::string build_zip(const std::vector<ZipEntry>& entries, bool zip64 = false);

// Pickle bytes (protocol 2) for the state dict {name: tensor} as torch.save writes it: one
// `storage_type` storage of `numel` elements under record key "0", viewed with `size`, `stride`
// and `offset`.
std::string tensor_pickle(const std::string& name, const std::string& storage_type, int numel,
                          const std::vector<int>& size, const std::vector<int>& stride, int offset);

}  // namespace medvqa::testing
