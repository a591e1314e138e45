#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace medvqa::io {

// A read-only view of a whole file through mmap. Mapped copy-on-write, so tensors that view it
// may be modified in place without touching the file.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  uint8_t* data_;
  size_t size_;
};

// Reads a whole (small) file into a string; throws medvqa::Error naming the path.
std::string read_text_file(const std::string& path);

}  // namespace medvqa::io
