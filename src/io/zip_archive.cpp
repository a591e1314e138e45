#include "io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "io/error.h"

namespace medvqa::io {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflated = 8;
// Deflate cannot compress better than about 1032:1, so a larger declared size is a lie that would
// only make us allocate.
constexpr uint64_t kMaxDeflateRatio = 1032;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": invalid zip archive: " + what);
}

// Little-endian reads that cannot leave [begin, end): every offset is checked by the caller first.
uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// True when [offset, offset + len) lies inside a buffer of `size` bytes, without overflowing.
bool in_bounds(uint64_t offset, uint64_t len, uint64_t size) { return offset <= size && len <= size - offset; }

struct EndRecord {
  uint64_t entries = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
};

EndRecord find_end_record(const MappedFile& file) {
  const uint8_t* d = file.data();
  const uint64_t size = file.size();
  if (size < kEndSize) fail(file.path(), "file is " + std::to_string(size) + " bytes, too short to be a zip");
  // The end record sits before a comment of at most 64 KiB, so scan back at most that far.
  const uint64_t lowest = size - kEndSize > 0xffff ? size - kEndSize - 0xffff : 0;
  for (uint64_t pos = size - kEndSize + 1; pos-- > lowest;) {
    if (le(d + pos, 4) != kEndSig) continue;
    if (pos + kEndSize + le(d + pos + 20, 2) > size) continue;
    EndRecord end{le(d + pos + 10, 2), le(d + pos + 16, 4), le(d + pos + 12, 4)};
    if (pos >= kZip64LocatorSize && le(d + pos - kZip64LocatorSize, 4) == kZip64LocatorSig) {
      uint64_t z = le(d + pos - kZip64LocatorSize + 8, 8);
      if (!in_bounds(z, kZip64EndSize, size) || le(d + z, 4) != kZip64EndSig)
        fail(file.path(), "ZIP64 end record locator points outside the file or at garbage (truncated file?)");
      end = EndRecord{le(d + z + 32, 8), le(d + z + 48, 8), le(d + z + 40, 8)};
    }
    if (!in_bounds(end.cd_offset, end.cd_size, size))
      fail(file.path(), "central directory [" + std::to_string(end.cd_offset) + ", +" + std::to_string(end.cd_size) +
                            ") lies outside the " + std::to_string(size) + "-byte file (truncated file?)");
    return end;
  }
  fail(file.path(), "no end-of-central-directory record (not a zip, or truncated)");
}

// Replaces the 32-bit fields saturated at 0xffffffff with their values from the ZIP64 extra field.
void apply_zip64_extra(const std::string& path, const std::string& name, const uint8_t* extra, size_t len,
                       uint64_t& size, uint64_t& compressed_size, uint64_t& local_offset) {
  constexpr uint64_t kSaturated = 0xffffffff;
  for (size_t pos = 0; pos + 4 <= len;) {
    uint16_t id = static_cast<uint16_t>(le(extra + pos, 2));
    size_t field_len = le(extra + pos + 2, 2);
    if (pos + 4 + field_len > len) fail(path, "member '" + name + "' has a truncated extra field");
    if (id == kZip64ExtraId) {
      const uint8_t* f = extra + pos + 4;
      size_t used = 0;
      for (uint64_t* v : {&size, &compressed_size, &local_offset}) {
        if (*v != kSaturated) continue;
        if (used + 8 > field_len) fail(path, "member '" + name + "' has a short ZIP64 extra field");
        *v = le(f + used, 8);
        used += 8;
      }
      return;
    }
    pos += 4 + field_len;
  }
}

void inflate_into(const std::string& path, const std::string& name, const uint8_t* in, uint64_t in_size, uint8_t* out,
                  uint64_t out_size) {
  z_stream s{};
  // Negative window bits: zip members are raw deflate streams without a zlib header.
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) throw Error(path + ": cannot initialise zlib");
  constexpr uint64_t kChunk = std::numeric_limits<uInt>::max();
  uint64_t in_left = in_size, out_left = out_size;
  s.next_in = const_cast<Bytef*>(in);
  // zlib refuses a null output pointer even when there is nothing to write (an empty member).
  uint8_t unused = 0;
  s.next_out = out != nullptr ? out : &unused;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (s.avail_in == 0 && in_left > 0) {
      s.avail_in = static_cast<uInt>(std::min(in_left, kChunk));
      in_left -= s.avail_in;
    }
    if (s.avail_out == 0 && out_left > 0) {
      s.avail_out = static_cast<uInt>(std::min(out_left, kChunk));
      out_left -= s.avail_out;
    }
    rc = inflate(&s, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && (s.avail_in > 0 || in_left > 0) && (s.avail_out > 0 || out_left > 0)) rc = Z_OK;
  }
  const uint64_t produced = out_size - out_left - s.avail_out;
  inflateEnd(&s);
  if (rc != Z_STREAM_END)
    fail(path, "member '" + name + "' does not inflate: " +
                   (rc == Z_BUF_ERROR ? "data ends early or is longer than "
                                        "declared"
                                      : "corrupt deflate stream"));
  if (produced != out_size)
    fail(path, "member '" + name + "' inflates to " + std::to_string(produced) + " bytes, not the declared " +
                   std::to_string(out_size));
}

}  // namespace

bool looks_like_zip(const MappedFile& file) {
  if (file.size() < 4) return false;
  uint64_t sig = le(file.data(), 4);
  return sig == kLocalHeaderSig || sig == kEndSig;
}

ZipArchive ZipArchive::open(std::shared_ptr<MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* d = file->data();
  const uint64_t size = file->size();
  const EndRecord end = find_end_record(*file);
  ZipArchive zip;
  uint64_t pos = end.cd_offset;
  const uint64_t cd_end = end.cd_offset + end.cd_size;
  for (uint64_t i = 0; i < end.entries; ++i) {
    if (!in_bounds(pos, kCentralHeaderSize, cd_end) || le(d + pos, 4) != kCentralHeaderSig)
      fail(path, "central directory entry " + std::to_string(i) + " is missing or damaged");
    const uint64_t name_len = le(d + pos + 28, 2), extra_len = le(d + pos + 30, 2), comment_len = le(d + pos + 32, 2);
    if (!in_bounds(pos + kCentralHeaderSize, name_len + extra_len + comment_len, cd_end))
      fail(path, "central directory entry " + std::to_string(i) + " runs past the directory");
    Member m;
    m.name.assign(reinterpret_cast<const char*>(d + pos + kCentralHeaderSize), name_len);
    if (le(d + pos + 8, 2) & 1) fail(path, "member '" + m.name + "' is encrypted");
    m.method = static_cast<uint16_t>(le(d + pos + 10, 2));
    m.crc32 = static_cast<uint32_t>(le(d + pos + 16, 4));
    m.compressed_size = le(d + pos + 20, 4);
    m.size = le(d + pos + 24, 4);
    uint64_t local = le(d + pos + 42, 4);
    apply_zip64_extra(path, m.name, d + pos + kCentralHeaderSize + name_len, extra_len, m.size, m.compressed_size,
                      local);
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;

    if (m.method != kStored && m.method != kDeflated)
      fail(path, "member '" + m.name + "' uses compression method " + std::to_string(m.method) +
                     " (only stored and deflated are supported)");
    if (m.method == kStored && m.compressed_size != m.size)
      fail(path, "stored member '" + m.name + "' has different compressed and uncompressed sizes");
    if (m.method == kDeflated && m.size / kMaxDeflateRatio > m.compressed_size + 1)
      fail(path, "deflated member '" + m.name + "' claims an impossible compression ratio");
    if (!in_bounds(local, kLocalHeaderSize, size) || le(d + local, 4) != kLocalHeaderSig)
      fail(path, "member '" + m.name + "' has no local header where the directory says (truncated file?)");
    m.data_offset = local + kLocalHeaderSize + le(d + local + 26, 2) + le(d + local + 28, 2);
    if (!in_bounds(m.data_offset, m.compressed_size, size))
      fail(path, "member '" + m.name + "' data runs past the end of the file (truncated file?)");
    if (!zip.index_.emplace(m.name, zip.members_.size()).second) fail(path, "member '" + m.name + "' appears twice");
    zip.members_.push_back(std::move(m));
  }
  zip.file_ = std::move(file);
  return zip;
}

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m.name);
  return out;
}

bool ZipArchive::contains(const std::string& name) const { return index_.count(name) != 0; }

const ZipArchive::Member& ZipArchive::member(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error(path() + ": zip archive has no member '" + name + "'");
  return members_[it->second];
}

ZipRecord ZipArchive::read(const std::string& name) const {
  const Member& m = member(name);
  uint8_t* begin = file_->mutable_data() + m.data_offset;
  if (m.method == kStored) return ZipRecord{begin, m.size, file_};
  auto buffer = std::make_shared<std::vector<uint8_t>>(m.size);
  inflate_into(path(), name, begin, m.compressed_size, buffer->data(), m.size);
  // Stored members are not checksummed: that would read every page of a multi-GB checkpoint up front.
  uLong crc = crc32_z(0L, buffer->data(), buffer->size());
  if (crc != m.crc32) fail(path(), "member '" + name + "' fails its CRC check");
  return ZipRecord{buffer->data(), buffer->size(), buffer};
}

}  // namespace medvqa::io
