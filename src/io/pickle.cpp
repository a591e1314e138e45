#include "io/pickle.h"

#include <cstdio>
#include <cstring>

#include "io/error.h"

namespace medvqa::io {

using Kind = PyValue::Kind;

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::Str:
      return "str";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Global:
      return "global";
    case Kind::Storage:
      return "storage";
    case Kind::Tensor:
      return "tensor";
  }
  return "?";
}

Unpickler::Unpickler(std::string source, const uint8_t* data, size_t size, PickleHooks hooks)
    : source_(std::move(source)), data_(data), size_(size), hooks_(std::move(hooks)) {}

void Unpickler::fail(const std::string& what) const {
  throw Error(source_ + ": bad pickle at byte " + std::to_string(op_pos_) + ": " + what);
}

PyValue* Unpickler::make(Kind kind) {
  arena_.push_back(std::make_unique<PyValue>());
  arena_.back()->kind = kind;
  return arena_.back().get();
}

PyValue* Unpickler::make_str(std::string s) {
  PyValue* v = make(Kind::Str);
  v->str = std::move(s);
  return v;
}

PyValue* Unpickler::make_int(int64_t i) {
  PyValue* v = make(Kind::Int);
  v->i = i;
  return v;
}

PyValue* Unpickler::make_tuple(std::vector<PyValue*> items) {
  PyValue* v = make(Kind::Tuple);
  v->items = std::move(items);
  return v;
}

const uint8_t* Unpickler::take(size_t n) {
  if (n > size_ - pos_) fail("data ends inside an opcode (truncated pickle)");
  const uint8_t* p = data_ + pos_;
  pos_ += n;
  return p;
}

uint64_t Unpickler::take_le(size_t n) {
  const uint8_t* p = take(n);
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

std::string Unpickler::take_line() {
  const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (nl == nullptr) fail("unterminated GLOBAL name");
  size_t len = static_cast<const uint8_t*>(nl) - (data_ + pos_);
  std::string s(reinterpret_cast<const char*>(take(len)), len);
  take(1);
  return s;
}

// A MARK fences the stack: opcodes other than those that consume the mark may not pop below it.
PyValue* Unpickler::pop() {
  size_t fence = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= fence) fail("stack underflow");
  PyValue* v = stack_.back();
  stack_.pop_back();
  return v;
}

PyValue* Unpickler::top() {
  size_t fence = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= fence) fail("stack underflow");
  return stack_.back();
}

std::vector<PyValue*> Unpickler::pop_to_mark() {
  if (marks_.empty()) fail("no MARK to pop to");
  size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<PyValue*> items(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

PyValue* Unpickler::global(const std::string& module, const std::string& name) {
  std::string full = module + "." + name;
  hooks_.allow_global(*this, full);
  PyValue* v = make(Kind::Global);
  v->str = std::move(full);
  return v;
}

void Unpickler::memo_put(uint32_t index) { memo_[index] = top(); }

PyValue* Unpickler::memo_get(uint32_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
  return it->second;
}

void Unpickler::set_items(PyValue* dict, const std::vector<PyValue*>& kv) {
  if (dict->kind != Kind::Dict) fail(std::string("SETITEM on a ") + kind_name(dict->kind) + ", not a dict");
  if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of keys and values");
  for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
}

void Unpickler::append_items(PyValue* list, const std::vector<PyValue*>& items) {
  if (list->kind != Kind::List) fail(std::string("APPEND on a ") + kind_name(list->kind) + ", not a list");
  list->items.insert(list->items.end(), items.begin(), items.end());
}

PyValue* Unpickler::load() {
  while (pos_ < size_) {
    op_pos_ = pos_;
    uint8_t op = *take(1);
    if (op == '.') {
      PyValue* result = pop();
      if (!stack_.empty() || !marks_.empty()) fail("values left on the stack at STOP");
      return result;
    }
    run(op);
  }
  op_pos_ = pos_;
  fail("data ends without STOP (truncated pickle)");
}

void Unpickler::run(uint8_t op) {
  switch (op) {
    case 0x80: {  // PROTO
      uint64_t version = take_le(1);
      if (version < 2 || version > 5) fail("unsupported pickle protocol " + std::to_string(version));
      return;
    }
    case 0x95:  // FRAME: framing only groups opcodes for buffered reads
      take_le(8);
      return;
    case '}':
      stack_.push_back(make(Kind::Dict));
      return;
    case ']':
      stack_.push_back(make(Kind::List));
      return;
    case ')':
      stack_.push_back(make_tuple({}));
      return;
    case '(':
      marks_.push_back(stack_.size());
      return;
    case 'N':
      stack_.push_back(make(Kind::None));
      return;
    case 0x88:
    case 0x89: {  // NEWTRUE, NEWFALSE
      PyValue* v = make(Kind::Bool);
      v->i = op == 0x88;
      stack_.push_back(v);
      return;
    }
    case 'K':
      stack_.push_back(make_int(static_cast<int64_t>(take_le(1))));
      return;  // BININT1
    case 'M':
      stack_.push_back(make_int(static_cast<int64_t>(take_le(2))));
      return;  // BININT2
    case 'J':  // BININT
      stack_.push_back(make_int(static_cast<int32_t>(static_cast<uint32_t>(take_le(4)))));
      return;
    case 0x8a: {  // LONG1: little-endian two's complement of n bytes
      size_t n = take_le(1);
      if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
      uint64_t v = take_le(n);
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);
      stack_.push_back(make_int(static_cast<int64_t>(v)));
      return;
    }
    case 'G': {  // BINFLOAT, big-endian
      const uint8_t* p = take(8);
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
      PyValue* v = make(Kind::Float);
      std::memcpy(&v->f, &bits, 8);
      stack_.push_back(v);
      return;
    }
    case 'X':     // BINUNICODE
    case 0x8c:    // SHORT_BINUNICODE
    case 0x8d: {  // BINUNICODE8
      size_t n = take_le(op == 'X' ? 4 : op == 0x8c ? 1 : 8);
      const uint8_t* p = take(n);
      stack_.push_back(make_str(std::string(reinterpret_cast<const char*>(p), n)));
      return;
    }
    case 't':
      stack_.push_back(make_tuple(pop_to_mark()));
      return;
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      std::vector<PyValue*> items(op - 0x84);
      for (size_t i = items.size(); i-- > 0;) items[i] = pop();
      stack_.push_back(make_tuple(std::move(items)));
      return;
    }
    case 'c': {  // GLOBAL
      std::string module = take_line();
      std::string name = take_line();
      stack_.push_back(global(module, name));
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      PyValue* name = pop();
      PyValue* module = pop();
      if (module->kind != Kind::Str || name->kind != Kind::Str) fail("STACK_GLOBAL needs two strings");
      stack_.push_back(global(module->str, name->str));
      return;
    }
    case 'R': {  // REDUCE
      PyValue* args = pop();
      PyValue* callable = pop();
      if (callable->kind != Kind::Global) fail(std::string("REDUCE calls a ") + kind_name(callable->kind));
      if (args->kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
      stack_.push_back(hooks_.call(*this, callable->str, args->items));
      return;
    }
    case 'b': {  // BUILD
      // torch.save pickles OrderedDict attributes (`_metadata`, the module versions) this way;
      // a state dict has no use for them, so the state is dropped.
      pop();
      PyValue* obj = top();
      if (obj->kind != Kind::Dict) fail(std::string("BUILD on a ") + kind_name(obj->kind) + " is not supported");
      return;
    }
    case 'Q': {  // BINPERSID
      PyValue* pid = pop();
      stack_.push_back(hooks_.persistent_load(*this, pid));
      return;
    }
    case 'q':
      memo_put(static_cast<uint32_t>(take_le(1)));
      return;  // BINPUT
    case 'r':
      memo_put(static_cast<uint32_t>(take_le(4)));
      return;  // LONG_BINPUT
    case 0x94:
      memo_put(static_cast<uint32_t>(memo_.size()));
      return;  // MEMOIZE
    case 'h':
      stack_.push_back(memo_get(static_cast<uint32_t>(take_le(1))));
      return;  // BINGET
    case 'j':
      stack_.push_back(memo_get(static_cast<uint32_t>(take_le(4))));
      return;    // LONG_BINGET
    case 's': {  // SETITEM
      PyValue* value = pop();
      PyValue* key = pop();
      set_items(top(), {key, value});
      return;
    }
    case 'u': {  // SETITEMS
      std::vector<PyValue*> kv = pop_to_mark();
      set_items(top(), kv);
      return;
    }
    case 'a': {  // APPEND
      PyValue* value = pop();
      append_items(top(), {value});
      return;
    }
    case 'e': {  // APPENDS
      std::vector<PyValue*> items = pop_to_mark();
      append_items(top(), items);
      return;
    }
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail(std::string("unknown or unsupported pickle opcode ") + hex);
    }
  }
}

}  // namespace medvqa::io
