#include "zip_builder.h"

#include <zlib.h>

#include <cstdint>
#include <stdexcept>

namespace medvqa::testing {
namespace {

void put(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string raw_deflate(const std::string& data) {
  z_stream s{};
  if (deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::string unicode(const std::string& s) {
  std::string out = "X";
  put(out, s.size(), 4);
  return out + s;
}

std::string int1(int v) { return std::string("K") + static_cast<char>(v); }

std::string int_tuple(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v) out += int1(x);
  return out + "t";
}

}  // namespace

std::string build_zip(const std::vector<ZipEntry>& entries, bool zip64) {
  constexpr uint64_t kSaturated = 0xffffffff;
  std::string body, directory;
  for (const auto& e : entries) {
    const std::string stored = e.deflate ? raw_deflate(e.data) : e.data;
    const uint32_t crc =
        static_cast<uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(e.data.data()), e.data.size()));
    const uint64_t offset = body.size();
    std::string local_extra, central_extra;
    if (zip64) {
      put(local_extra, 1, 2);
      put(local_extra, 16, 2);
      put(local_extra, e.data.size(), 8);
      put(local_extra, stored.size(), 8);
      put(central_extra, 1, 2);
      put(central_extra, 24, 2);
      put(central_extra, e.data.size(), 8);
      put(central_extra, stored.size(), 8);
      put(central_extra, offset, 8);
    }
    put(body, 0x04034b50, 4);
    put(body, zip64 ? 45 : 20, 2);
    put(body, 0, 2);
    put(body, e.deflate ? 8 : 0, 2);
    put(body, 0, 4);  // time, date
    put(body, crc, 4);
    put(body, zip64 ? kSaturated : stored.size(), 4);
    put(body, zip64 ? kSaturated : e.data.size(), 4);
    put(body, e.name.size(), 2);
    put(body, local_extra.size(), 2);
    body += e.name + local_extra + stored;

    put(directory, 0x02014b50, 4);
    put(directory, 45, 2);
    put(directory, zip64 ? 45 : 20, 2);
    put(directory, 0, 2);
    put(directory, e.deflate ? 8 : 0, 2);
    put(directory, 0, 4);
    put(directory, crc, 4);
    put(directory, zip64 ? kSaturated : stored.size(), 4);
    put(directory, zip64 ? kSaturated : e.data.size(), 4);
    put(directory, e.name.size(), 2);
    put(directory, central_extra.size(), 2);
    put(directory, 0, 2);  // comment length
    put(directory, 0, 2);  // disk
    put(directory, 0, 2);  // internal attributes
    put(directory, 0, 4);  // external attributes
    put(directory, zip64 ? kSaturated : offset, 4);
    directory += e.name + central_extra;
  }
  std::string out = body + directory;
  const uint64_t cd_offset = body.size();
  if (zip64) {
    const uint64_t end64 = out.size();
    put(out, 0x06064b50, 4);
    put(out, 44, 8);
    put(out, 45, 2);
    put(out, 45, 2);
    put(out, 0, 4);
    put(out, 0, 4);
    put(out, entries.size(), 8);
    put(out, entries.size(), 8);
    put(out, directory.size(), 8);
    put(out, cd_offset, 8);
    put(out, 0x07064b50, 4);
    put(out, 0, 4);
    put(out, end64, 8);
    put(out, 1, 4);
  }
  put(out, 0x06054b50, 4);
  put(out, 0, 4);  // disks
  put(out, zip64 ? 0xffff : entries.size(), 2);
  put(out, zip64 ? 0xffff : entries.size(), 2);
  put(out, zip64 ? kSaturated : directory.size(), 4);
  put(out, zip64 ? kSaturated : cd_offset, 4);
  put(out, 0, 2);
  return out;
}

std::string tensor_pickle(const std::string& name, const std::string& storage_type, int numel,
                          const std::vector<int>& size, const std::vector<int>& stride, int offset) {
  const std::string ordered_dict = "ccollections\nOrderedDict\n)R";
  std::string p = "\x80\x02" + ordered_dict + "(" + unicode(name);
  p += "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(" + unicode("storage") + "ctorch\n" + storage_type + "\n" + unicode("0") + unicode("cpu") + int1(numel) + "tQ";
  p += int1(offset) + int_tuple(size) + int_tuple(stride) + "\x89" + ordered_dict + "tR";
  return p + "u.";
}

}  // namespace medvqa::testing
