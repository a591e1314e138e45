#!/usr/bin/env bash
# Trains the shipped default model from the raw data in ../shared/data, the paper's recipe at this
# machine's scale (model card: models/medvqa-small/MODEL_CARD.md):
#   0a  the vision tower pre-trained contrastively on every training image and its texts
#       (as BiomedCLIP was made), an open_clip directory;
#   0b  the language model pre-trained on radiology text (as RadBloomz was made), a BLOOM directory;
#   3   radiology VQA (SLAKE + VQA-RAD) from both, vision tower frozen, selected on validation;
# then exports runs/small-3/best as models/medvqa-small (bf16). Each stage resumes from its last
# checkpoint when rerun; the compute dtype follows the CPU (bf16 with AVX512-BF16, else fp32).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
mkdir -p runs
for stage in small-0a-clip small-0b-radiology-lm small-3-slake-vqa-rad; do
  start=$(date +%s)
  "$BIN" train --config "configs/train/$stage.json" --resume
  echo "$stage: $(( $(date +%s) - start )) s" | tee -a runs/stage-times.txt
done
"$BIN" export --model runs/small-3/best --out models/medvqa-small --dtype bfloat16
