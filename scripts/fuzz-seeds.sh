#!/usr/bin/env bash
# Writes the fuzz harnesses' seed corpora into OUT/<harness>/: small real files of every kind each
# parser reads, made here (PyTorch's torch.save, DCMTK's dump2dcm and img2dcm) or taken from
# ../shared/golden (real transformers/open_clip/tokenizers outputs). Nothing of it is committed.
# Usage: scripts/fuzz-seeds.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/fuzz-seeds.sh OUT}
GOLDEN=${MEDVQA_GOLDEN:-../shared/golden}
for h in safetensors checkpoint_index torch_zip tokenizer_json tokenizer_encode image chat_request; do
  mkdir -p "$OUT/$h"
done

cp "$GOLDEN/bloom/bloom_a/inputs.safetensors" "$OUT/safetensors/golden-inputs.safetensors"
cp "$GOLDEN/lora/adapter/adapter_model.safetensors" "$OUT/safetensors/peft-adapter.safetensors"
cp "$GOLDEN/tokenizer/bpe_small/tokenizer.json" "$OUT/tokenizer_json/bpe_small.json"
cp "$GOLDEN/preprocess/images/gray_300x217.png" "$GOLDEN/preprocess/images/gray16_256x200.png" \
   "$GOLDEN/preprocess/images/rgb_512x512.jpg" "$OUT/image/"

# DICOM: a 16-bit signed CT with rescale and window, and a JPEG-encapsulated secondary capture.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/ct.dump" <<'DUMP'
(0008,0016) UI =CTImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.2.1125.1]
(0008,0060) CS [CT]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 4
(0028,0011) US 4
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 1
(0028,1050) DS [40]
(0028,1051) DS [400]
(0028,1052) DS [-1024]
(0028,1053) DS [1]
(7fe0,0010) OW 0000\0100\0200\0300\0400\0500\0600\0700\0800\0900\0a00\0b00\0c00\0d00\0e00\0f00
DUMP
dump2dcm +te "$tmp/ct.dump" "$OUT/image/ct-16bit.dcm"
img2dcm "$GOLDEN/preprocess/images/rgb_512x512.jpg" "$OUT/image/secondary-capture-jpeg.dcm"

/usr/bin/python3 - "$OUT" "$GOLDEN" <<'PY'
import base64, collections, json, os, struct, sys, zipfile
import torch
out, golden = sys.argv[1], sys.argv[2]

def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata: header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

seeds = {
    "f32-bf16.safetensors": safetensors({"a.weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                         "b": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40")}, {"format": "pt"}),
    "scalar-empty.safetensors": safetensors({"s": ("I64", [], struct.pack("<q", 7)), "e": ("F16", [0, 3], b"")}),
}
for name, blob in seeds.items():
    open(os.path.join(out, "safetensors", name), "wb").write(blob)

index = {"metadata": {"total_size": 40},
         "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors",
                        "b.bias": "model-00002-of-00002.safetensors"}}
open(os.path.join(out, "checkpoint_index", "index.json"), "w").write(json.dumps(index))

base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
state = collections.OrderedDict([("w", base), ("t", base.t()), ("row", base[1]), ("bf", torch.ones(2, dtype=torch.bfloat16)),
                                 ("i", torch.tensor([1, -2], dtype=torch.int64)), ("h", torch.zeros(2, 2, dtype=torch.float16))])
torch.save(state, os.path.join(out, "torch_zip", "state_dict.bin"))
torch.save({"model": {"x": torch.tensor(3.0)}}, os.path.join(out, "torch_zip", "nested.bin"))
# The same archive with its members deflated, for the inflater.
with zipfile.ZipFile(os.path.join(out, "torch_zip", "state_dict.bin")) as z, \
     zipfile.ZipFile(os.path.join(out, "torch_zip", "deflated.bin"), "w", zipfile.ZIP_DEFLATED) as d:
    for info in z.infolist():
        d.writestr(info.filename, z.read(info))

cases = json.load(open(os.path.join(golden, "tokenizer", "cases.json")))
texts = [c if isinstance(c, str) else c.get("text", "") for c in (cases if isinstance(cases, list) else cases.get("cases", []))]
texts += ["Is there a pneumothorax?", "Which organ is abnormal?", "左肺有气胸吗？", "What modality is used to take this image?",
          "  spaces   and\ttabs\n", "</s><pad> special tokens <unk>", "\xe9t\xe9 caf\u00e9 \U0001F600"]
for i, t in enumerate(texts[:200]):
    open(os.path.join(out, "tokenizer_encode", "%03d.txt" % i), "wb").write(t.encode("utf-8", "surrogatepass"))

png = open(os.path.join(golden, "preprocess", "images", "gray_300x217.png"), "rb").read()
uri = "data:image/png;base64," + base64.b64encode(png).decode()
bodies = {
    "one-question.json": {"model": "medvqa-small", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Is there a fracture?"}, {"type": "image_url", "image_url": {"url": uri}}]}]},
    "follow-up.json": {"messages": [
        {"role": "system", "content": "You answer radiology questions."},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}}, {"type": "text", "text": "What modality is this?"}]},
        {"role": "assistant", "content": "ct"},
        {"role": "user", "content": "Which organ is abnormal?"}],
        "max_tokens": 8, "temperature": 0, "stream": True, "min_confidence": 0.3, "heatmap": "attention"},
    "no-image.json": {"messages": [{"role": "user", "content": "Is this normal?"}]},
}
for name, body in bodies.items():
    open(os.path.join(out, "chat_request", name), "w").write(json.dumps(body))
# The image harness reads a first byte that picks the window, then the file.
for name in os.listdir(os.path.join(out, "image")):
    path = os.path.join(out, "image", name)
    blob = open(path, "rb").read()
    open(path, "wb").write(b"\x00" + blob)
    open(path + ".windowed", "wb").write(b"\x01" + blob)
PY
