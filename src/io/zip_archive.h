#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"

namespace medvqa::io {

// The bytes of one archive member. `owner` keeps them alive: the mapping for stored members (so a
// tensor can view them without a copy), or an inflated buffer for deflated ones.
struct ZipRecord {
  uint8_t* data = nullptr;
  size_t size = 0;
  std::shared_ptr<void> owner;
};

// A read-only zip archive over a memory mapping: just enough of the format for torch.save files
// (stored and deflated members, ZIP64 for archives past 4 GB; no encryption, no multi-disk).
// Opening validates the central directory against the file so later reads cannot leave it.
class ZipArchive {
 public:
  // Throws medvqa::Error naming the file when it is not a zip or its directory is damaged.
  static ZipArchive open(std::shared_ptr<MappedFile> file);

  const std::string& path() const { return file_->path(); }
  // Member names in central-directory order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  // Stored members are viewed in place; deflated ones are inflated and their CRC checked.
  ZipRecord read(const std::string& name) const;

 private:
  struct Member {
    std::string name;
    uint16_t method = 0;
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint64_t data_offset = 0;  // of the member's bytes, past its local header
  };
  const Member& member(const std::string& name) const;

  std::shared_ptr<MappedFile> file_;
  std::vector<Member> members_;
  std::map<std::string, size_t> index_;  // name -> position in members_
};

// True when the file starts like a zip archive (a local file header or an empty archive's end record).
bool looks_like_zip(const MappedFile& file);

}  // namespace medvqa::io
