#include "python.h"

#include <cstdlib>
#include <stdexcept>

#include "helpers.h"
#include "testing/testing.h"

namespace medvqa::testing {
namespace {

const char* const kPython = "/usr/bin/python3";

const char* const kPrelude = R"(
import collections, json, os, pickle, struct, sys, zipfile
import torch

_ST = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
       torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
       torch.bool: 'BOOL'}

def save_st(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
        header[name] = {'dtype': _ST[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))

def load_st(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    types = {v: k for k, v in _ST.items()}
    out = collections.OrderedDict()
    for name, e in sorted(json.loads(raw[8:8 + n]).items()):
        if name == '__metadata__':
            continue
        begin, end = e['data_offsets']
        dtype = types[e['dtype']]
        t = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=dtype) if end > begin \
            else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e['shape'])
    return out
)";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void require_torch() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  if (!ok)
    throw std::runtime_error(std::string("python3-torch is required for this test: ") + kPython +
                             " cannot `import torch` (install the python3-torch package; CI does)");
}

}  // namespace

void run_python(const std::string& script, const std::vector<std::string>& args) {
  require_torch();
  TempDir dir;
  write_file(dir.file("script.py"), std::string(kPrelude) + script);
  std::string cmd = std::string(kPython) + " " + shell_quote(dir.file("script.py"));
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(dir.file("output.txt")) + " 2>&1";
  if (std::system(cmd.c_str()) != 0)
    throw std::runtime_error("python script failed:\n" + read_file(dir.file("output.txt")));
}

}  // namespace medvqa::testing
