#!/usr/bin/env bash
# The stage ablation of the small preset (model card, issue 4): stage 3 alone from scratch, and
# stages 2 + 3 without stage 1, each stage with the same budget as in scripts/train-small.sh.
# The "1 + 2 + 3" row is scripts/train-small.sh itself. Resumes when rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
mkdir -p runs
for stage in ablation-3-only ablation-2-from-scratch ablation-2-3; do
  start=$(date +%s)
  "$BIN" train --config "configs/train/$stage.json" --resume
  echo "$stage: $(( $(date +%s) - start )) s" | tee -a runs/stage-times.txt
done
