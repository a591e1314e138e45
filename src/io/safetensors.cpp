#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/error.h"

namespace medvqa::io {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers over 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": invalid safetensors file: " + what);
}

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

TensorEntry parse_entry(const std::string& path, const std::string& name, const json& j, size_t data_size) {
  if (!j.is_object()) fail(path, "entry '" + name + "' is not an object");
  if (!j.contains("dtype") || !j["dtype"].is_string()) fail(path, "entry '" + name + "' has no dtype");
  auto dtype = dtype_from_name(j["dtype"].get<std::string>());
  if (!dtype) fail(path, "entry '" + name + "' has unknown dtype " + j["dtype"].get<std::string>());
  if (!j.contains("shape") || !j["shape"].is_array()) fail(path, "entry '" + name + "' has no shape");
  if (!j.contains("data_offsets") || !j["data_offsets"].is_array() || j["data_offsets"].size() != 2)
    fail(path, "entry '" + name + "' has no [begin, end] data_offsets");
  TensorEntry e;
  e.dtype = *dtype;
  // Bounding each dimension and the byte count by 2^62 keeps every product below 2^64 and every
  // dimension representable as int64.
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t numel = 1;
  for (const auto& d : j["shape"]) {
    if (!d.is_number_unsigned()) fail(path, "entry '" + name + "' has a negative or non-integer dimension");
    uint64_t v = d.get<uint64_t>();
    if (v > kLimit || (v != 0 && numel > kLimit / v)) fail(path, "entry '" + name + "' shape overflows");
    numel *= v;
    e.shape.push_back(static_cast<int64_t>(v));
  }
  const uint64_t item = dtype_size(e.dtype);
  if (numel > kLimit / item) fail(path, "entry '" + name + "' shape overflows");
  for (const auto& o : j["data_offsets"])
    if (!o.is_number_unsigned()) fail(path, "entry '" + name + "' has a non-integer data offset");
  uint64_t begin = j["data_offsets"][0].get<uint64_t>();
  uint64_t end = j["data_offsets"][1].get<uint64_t>();
  if (begin > end) fail(path, "entry '" + name + "' has begin > end");
  if (end > data_size)
    fail(path, "entry '" + name + "' data [" + std::to_string(begin) + ", " + std::to_string(end) +
                   ") lies outside the data section of " + std::to_string(data_size) + " bytes (truncated file?)");
  if (end - begin != numel * item)
    fail(path, "entry '" + name + "' holds " + std::to_string(end - begin) + " bytes but its shape and dtype need " +
                   std::to_string(numel * item));
  e.begin = begin;
  e.end = end;
  return e;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.file_ = MappedFile::open(path);
  const size_t size = f.file_->size();
  if (size < 8) fail(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t header_len = read_le_u64(f.file_->data());
  if (header_len > kMaxHeaderBytes) fail(path, "header length " + std::to_string(header_len) + " is implausibly large");
  if (8 + header_len > size)
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the " + std::to_string(size) +
                   "-byte file");
  json header;
  try {
    header = json::parse(f.file_->data() + 8, f.file_->data() + 8 + header_len);
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");
  f.data_offset_ = 8 + header_len;
  const size_t data_size = size - f.data_offset_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_null()) continue;
      if (!it->is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail(path, "__metadata__ value for '" + m.key() + "' is not a string");
        f.metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    f.entries_[it.key()] = parse_entry(path, it.key(), *it, data_size);
    f.names_.push_back(it.key());
  }
  // Like the reference reader, require the tensors to tile the data section exactly: no overlap
  // (two names for one byte), no gap and no trailing bytes (unexplained data).
  std::sort(f.names_.begin(), f.names_.end(), [&](const std::string& a, const std::string& b) {
    const TensorEntry& x = f.entries_.at(a);
    const TensorEntry& y = f.entries_.at(b);
    return std::tie(x.begin, x.end, a) < std::tie(y.begin, y.end, b);
  });
  size_t covered = 0;
  std::string previous;
  for (const auto& name : f.names_) {
    const TensorEntry& e = f.entries_.at(name);
    if (e.begin < covered)
      fail(path, "tensors '" + previous + "' and '" + name + "' overlap (data offsets " + std::to_string(e.begin) +
                     " < " + std::to_string(covered) + ")");
    if (e.begin > covered)
      fail(path, "gap of " + std::to_string(e.begin - covered) + " bytes in the data section before tensor '" +
                     name + "'");
    covered = e.end;
    previous = name;
  }
  if (covered != data_size)
    fail(path, "data section has " + std::to_string(data_size - covered) + " bytes after the last tensor");
  return f;
}

const TensorEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(path() + ": no tensor named '" + name + "'");
  return it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorEntry& e = entry(name);
  auto options = torch::TensorOptions().dtype(to_scalar_type(e.dtype));
  uint8_t* ptr = file_->mutable_data() + data_offset_ + e.begin;
  if (e.end == e.begin) return torch::empty(e.shape, options);
  if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(e.dtype) != 0) {
    // Kernels may assume natural alignment, so misaligned data gets copied.
    auto t = torch::empty(e.shape, options);
    std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
    return t;
  }
  std::shared_ptr<MappedFile> keep = file_;
  return torch::from_blob(ptr, e.shape, [keep](void*) mutable { keep.reset(); }, options);
}

std::map<std::string, torch::Tensor> SafetensorsFile::tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& n : names_) out[n] = tensor(n);
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (tensors.count("__metadata__")) throw Error(path + ": '__metadata__' cannot be a tensor name in safetensors");
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
    DType dtype;
    try {
      dtype = from_scalar_type(c.scalar_type());
    } catch (const Error& e) {
      throw Error(path + ": tensor '" + name + "': " + e.what());
    }
    header[name] = {{"dtype", dtype_name(dtype)},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    blobs.push_back(c);
  }
  std::string h = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  h.append((8 - (h.size() % 8)) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>((uint64_t(h.size()) >> (8 * i)) & 0xff);
  write_file_atomically(path, [&](int fd) {
    write_all(fd, len, 8, path);
    write_all(fd, h.data(), h.size(), path);
    for (const auto& b : blobs) write_all(fd, b.data_ptr(), static_cast<size_t>(b.numel()) * b.element_size(), path);
  });
}

}  // namespace medvqa::io
