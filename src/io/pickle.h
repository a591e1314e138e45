#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace medvqa::io {

// A Python value as far as a state-dict pickle needs: plain data, containers, references to
// globals (which are never imported, only named), and the storages and tensors the hooks build.
struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t i = 0;                // Bool, Int
  double f = 0;                 // Float
  std::string str;              // Str; Global as "module.name"
  std::vector<PyValue*> items;  // Tuple, List
  // Dict, in insertion order; a repeated key stays repeated and readers let the last one win, as
  // Python's dict would.
  std::vector<std::pair<PyValue*, PyValue*>> entries;
  torch::Tensor tensor;  // Storage (one-dimensional, of its element type), Tensor
};

const char* kind_name(PyValue::Kind kind);

class Unpickler;

// What the machine cannot decide alone. `allow_global` must throw for names it refuses; `call`
// runs REDUCE on an allowed global; `persistent_load` resolves BINPERSID ids. Each reports
// problems through Unpickler::fail so messages carry the file and position.
struct PickleHooks {
  std::function<void(Unpickler&, const std::string& global)> allow_global;
  std::function<PyValue*(Unpickler&, const std::string& global, const std::vector<PyValue*>& args)> call;
  std::function<PyValue*(Unpickler&, PyValue* pid)> persistent_load;
};

// A restricted pickle interpreter (the opcodes of protocols 2 and 4 that torch.save emits). It
// never imports or calls anything itself: globals stay names until the hooks act on them. Values
// live in an arena owned by the unpickler, so cyclic or deeply nested input is freed without
// recursion; pointers stay valid while the unpickler lives.
class Unpickler {
 public:
  // `source` names the pickle in messages, e.g. "model.bin (archive/data.pkl)".
  Unpickler(std::string source, const uint8_t* data, size_t size, PickleHooks hooks);
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Runs to STOP and returns the single value left.
  PyValue* load();

  PyValue* make(PyValue::Kind kind);
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void run(uint8_t op);
  const uint8_t* take(size_t n);
  uint64_t take_le(size_t n);
  std::string take_line();
  PyValue* pop();
  PyValue* top();
  std::vector<PyValue*> pop_to_mark();
  PyValue* make_str(std::string s);
  PyValue* make_int(int64_t v);
  PyValue* make_tuple(std::vector<PyValue*> items);
  PyValue* global(const std::string& module, const std::string& name);
  void memo_put(uint32_t index);
  PyValue* memo_get(uint32_t index);
  void set_items(PyValue* dict, const std::vector<PyValue*>& kv);
  void append_items(PyValue* list, const std::vector<PyValue*>& items);

  std::string source_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;  // where the current opcode starts, for messages
  PickleHooks hooks_;
  std::vector<std::unique_ptr<PyValue>> arena_;
  std::vector<PyValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, PyValue*> memo_;
};

}  // namespace medvqa::io
