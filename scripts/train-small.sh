#!/usr/bin/env bash
# Trains the small preset through the paper's three stages on ../shared/data, stage 3 continued as a
# fourth (2 CPU cores: about 70 minutes); ship with `medvqa export --model runs/small-4/best`.
# Each stage resumes from its last checkpoint when rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
for stage in small-1-medpix-captions small-2-vqa-med-2019 small-3-slake-vqa-rad small-4-slake-vqa-rad-continued; do
  start=$(date +%s)
  "$BIN" train --config "configs/train/$stage.json" --resume
  echo "$stage: $(( $(date +%s) - start )) s" | tee -a runs/stage-times.txt
done
