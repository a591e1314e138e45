#include "io/torch_zip.h"

#include <cstring>

#include "io/error.h"
#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/zip_archive.h"

namespace medvqa::io {
namespace {

using Kind = PyValue::Kind;

struct StorageType {
  const char* global;
  torch::ScalarType type;
};

constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", torch::kFloat32},     {"torch.HalfStorage", torch::kFloat16},
    {"torch.BFloat16Storage", torch::kBFloat16}, {"torch.DoubleStorage", torch::kFloat64},
    {"torch.LongStorage", torch::kInt64},        {"torch.IntStorage", torch::kInt32},
    {"torch.ShortStorage", torch::kInt16},       {"torch.CharStorage", torch::kInt8},
    {"torch.ByteStorage", torch::kUInt8},        {"torch.BoolStorage", torch::kBool},
};

const char* const kOrderedDict = "collections.OrderedDict";
const char* const kRebuildTensor = "torch._utils._rebuild_tensor_v2";
const char* const kRebuildParameter = "torch._utils._rebuild_parameter";
const char* const kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";

const StorageType* storage_type(const std::string& global) {
  for (const auto& s : kStorageTypes)
    if (global == s.global) return &s;
  return nullptr;
}

// The zip members of one torch.save archive and the storages read from them so far.
class TorchZipReader {
 public:
  explicit TorchZipReader(const std::string& path);
  StateDict load();

 private:
  std::string find_prefix() const;
  void allow_global(const std::string& global) const;
  PyValue* call(Unpickler& u, const std::string& global, const std::vector<PyValue*>& args);
  PyValue* persistent_load(Unpickler& u, PyValue* pid);
  torch::Tensor read_storage(Unpickler& u, const std::string& key, torch::ScalarType type, int64_t numel);
  PyValue* rebuild_tensor(Unpickler& u, const std::vector<PyValue*>& args);
  StateDict flatten(PyValue* root) const;

  std::string path_;
  ZipArchive zip_;
  std::string prefix_;  // "<archive>/", the directory every member lives in
  // By record key: tensors that are views of one storage must share its memory.
  std::map<std::string, torch::Tensor> storages_;
};

std::shared_ptr<MappedFile> open_zip_file(const std::string& path) {
  auto file = MappedFile::open(path);
  if (looks_like_zip(*file)) return file;
  // Pre-1.6 torch.save wrote a bare pickle stream, which starts with the PROTO opcode.
  if (file->size() >= 2 && file->data()[0] == 0x80)
    throw Error(path + ": legacy torch.save format not supported; re-save with torch>=1.6 (or as safetensors)");
  throw Error(path + ": not a torch.save checkpoint (not a zip archive)");
}

TorchZipReader::TorchZipReader(const std::string& path)
    : path_(path), zip_(ZipArchive::open(open_zip_file(path))), prefix_(find_prefix()) {}

std::string TorchZipReader::find_prefix() const {
  for (const auto& name : zip_.names()) {
    const std::string suffix = "/data.pkl";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        name.find('/') == name.size() - suffix.size())
      return name.substr(0, name.size() - suffix.size() + 1);
  }
  throw Error(path_ + ": zip archive has no <archive>/data.pkl member, so it is not a torch.save checkpoint");
}

void TorchZipReader::allow_global(const std::string& global) const {
  if (global == kOrderedDict || global == kRebuildTensor || global == kRebuildParameter ||
      global == kRebuildParameterWithState || storage_type(global) != nullptr)
    return;
  throw Error("refusing to load " + path_ + ": global " + global +
              " is not allowed in a state dict (only tensors, their storages and OrderedDict are)");
}

PyValue* TorchZipReader::call(Unpickler& u, const std::string& global, const std::vector<PyValue*>& args) {
  if (global == kOrderedDict) {
    if (!args.empty()) u.fail("OrderedDict called with arguments");
    return u.make(Kind::Dict);
  }
  if (global == kRebuildTensor) return rebuild_tensor(u, args);
  if (global == kRebuildParameter || global == kRebuildParameterWithState) {
    // (tensor, requires_grad, backward_hooks[, state]): only the data matters for inference.
    if (args.size() != (global == kRebuildParameter ? 3u : 4u) || args[0]->kind != Kind::Tensor)
      u.fail(global + " called with unexpected arguments");
    return args[0];
  }
  u.fail("global " + global + " cannot be called");
}

PyValue* TorchZipReader::persistent_load(Unpickler& u, PyValue* pid) {
  // torch.save's ids are ('storage', storage type, record key, location, element count).
  const auto& f = pid->items;
  if (pid->kind != Kind::Tuple || f.size() != 5 || f[0]->kind != Kind::Str || f[0]->str != "storage" ||
      f[1]->kind != Kind::Global || f[2]->kind != Kind::Str || f[3]->kind != Kind::Str || f[4]->kind != Kind::Int)
    u.fail("persistent id is not ('storage', type, key, location, numel)");
  const StorageType* type = storage_type(f[1]->str);
  if (type == nullptr) u.fail("persistent id names " + f[1]->str + ", not a storage type");
  if (f[4]->i < 0) u.fail("storage '" + f[2]->str + "' has a negative size");
  PyValue* v = u.make(Kind::Storage);
  // The location (e.g. "cuda:0") is ignored: everything loads to the CPU.
  v->tensor = read_storage(u, f[2]->str, type->type, f[4]->i);
  return v;
}

torch::Tensor TorchZipReader::read_storage(Unpickler& u, const std::string& key, torch::ScalarType type,
                                           int64_t numel) {
  if (auto it = storages_.find(key); it != storages_.end()) {
    if (it->second.scalar_type() != type || it->second.numel() != numel)
      u.fail("storage '" + key + "' is used with two different types or sizes");
    return it->second;
  }
  const std::string name = prefix_ + "data/" + key;
  if (!zip_.contains(name)) throw Error(path_ + ": tensor data record '" + name + "' is missing");
  ZipRecord record = zip_.read(name);
  const auto options = torch::TensorOptions().dtype(type);
  const size_t item = c10::elementSize(type);
  if (static_cast<uint64_t>(numel) > record.size / item)
    throw Error(path_ + ": record '" + name + "' holds " + std::to_string(record.size) + " bytes, too short for " +
                std::to_string(numel) + " elements of " + c10::toString(type));
  torch::Tensor storage;
  if (numel == 0) {
    storage = torch::empty({0}, options);
  } else if (reinterpret_cast<uintptr_t>(record.data) % item != 0) {
    // Kernels may assume natural alignment, so misaligned data gets copied.
    storage = torch::empty({numel}, options);
    std::memcpy(storage.data_ptr(), record.data, numel * item);
  } else {
    std::shared_ptr<void> owner = record.owner;
    storage = torch::from_blob(
        record.data, {numel}, [owner](void*) mutable { owner.reset(); }, options);
  }
  storages_.emplace(key, storage);
  return storage;
}

PyValue* TorchZipReader::rebuild_tensor(Unpickler& u, const std::vector<PyValue*>& args) {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if ((args.size() != 6 && args.size() != 7) || args[0]->kind != Kind::Storage || args[1]->kind != Kind::Int ||
      args[2]->kind != Kind::Tuple || args[3]->kind != Kind::Tuple)
    u.fail("_rebuild_tensor_v2 called with unexpected arguments");
  const torch::Tensor& storage = args[0]->tensor;
  const int64_t offset = args[1]->i;
  std::vector<int64_t> size, stride;
  for (auto [from, to] : {std::pair{args[2], &size}, std::pair{args[3], &stride}})
    for (PyValue* d : from->items) {
      if (d->kind != Kind::Int || d->i < 0) u.fail("tensor size or stride is not a non-negative integer");
      to->push_back(d->i);
    }
  if (size.size() != stride.size()) u.fail("tensor size and stride have different lengths");
  // The highest element the view touches must lie inside the storage; an empty view touches none.
  bool empty = false;
  int64_t last = offset;
  for (size_t i = 0; i < size.size(); ++i) {
    int64_t reach = 0;
    if (size[i] == 0) empty = true;
    if (size[i] > 0 &&
        (__builtin_mul_overflow(size[i] - 1, stride[i], &reach) || __builtin_add_overflow(last, reach, &last)))
      u.fail("tensor extent overflows");
  }
  if (offset < 0 || offset > storage.numel() || (!empty && last >= storage.numel()))
    u.fail("tensor of size " + c10::str(c10::IntArrayRef(size)) + ", stride " + c10::str(c10::IntArrayRef(stride)) +
           " at offset " + std::to_string(offset) + " reaches past its storage of " + std::to_string(storage.numel()) +
           " elements");
  PyValue* v = u.make(Kind::Tensor);
  v->tensor = storage.as_strided(size, stride, offset);
  return v;
}

StateDict TorchZipReader::flatten(PyValue* root) const {
  if (root->kind != Kind::Dict)
    throw Error(path_ + ": holds a " + std::string(kind_name(root->kind)) + ", not a state dict");
  // Training checkpoints wrap the weights as {"state_dict": {...}, "epoch": ..., ...}.
  PyValue* weights = root;
  for (const auto& [k, v] : root->entries)
    if (k->kind == Kind::Str && k->str == "state_dict" && v->kind == Kind::Dict) weights = v;
  StateDict out;
  for (const auto& [k, v] : weights->entries) {
    if (k->kind != Kind::Str) throw Error(path_ + ": state dict has a " + std::string(kind_name(k->kind)) + " key");
    if (v->kind != Kind::Tensor)
      throw Error(path_ + ": entry '" + k->str + "' is a " + kind_name(v->kind) +
                  ", not a tensor (only state dicts of tensors can be loaded)");
    out[k->str] = v->tensor;
  }
  return out;
}

StateDict TorchZipReader::load() {
  if (zip_.contains(prefix_ + "byteorder")) {
    ZipRecord r = zip_.read(prefix_ + "byteorder");
    if (std::string(reinterpret_cast<const char*>(r.data), r.size) != "little")
      throw Error(path_ + ": big-endian checkpoints are not supported");
  }
  ZipRecord pkl = zip_.read(prefix_ + "data.pkl");
  PickleHooks hooks{
      [this](Unpickler&, const std::string& g) { allow_global(g); },
      [this](Unpickler& u, const std::string& g, const std::vector<PyValue*>& a) { return call(u, g, a); },
      [this](Unpickler& u, PyValue* pid) { return persistent_load(u, pid); },
  };
  Unpickler unpickler(path_ + " (" + prefix_ + "data.pkl)", pkl.data, pkl.size, std::move(hooks));
  return flatten(unpickler.load());
}

}  // namespace

StateDict load_torch_zip(const std::string& path) { return TorchZipReader(path).load(); }

}  // namespace medvqa::io
