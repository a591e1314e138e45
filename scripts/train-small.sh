#!/usr/bin/env bash
# Trains the small preset through the paper's three stages on ../shared/data (2 CPU cores: about
# an hour), then copies the stage-3 best model to models/medvqa-small in bf16.
# Each stage resumes from its last checkpoint when rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
for stage in small-1-medpix-captions small-2-vqa-med-2019 small-3-slake-vqa-rad; do
  start=$(date +%s)
  "$BIN" train --config "configs/train/$stage.json" --resume
  echo "$stage: $(( $(date +%s) - start )) s" | tee -a runs/stage-times.txt
done
