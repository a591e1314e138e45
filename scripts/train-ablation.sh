#!/usr/bin/env bash
# The ablation table of the model card (issue 16): each row is the shipped model's stage 3 at a
# reduced common budget (configs/train/ablation-budget.json: 300 steps of 32, evaluated at the end
# with real and with blank images) that changes one thing, trained with two seeds. Needs the
# pre-training stages of scripts/train-small.sh (runs/small-0a-clip, runs/small-0b-radiology-lm).
# Then: scripts/ablation-table.sh prints the table from each run's metrics.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
ROWS=${ROWS:-"ablation-tower-clip-frozen ablation-tower-random-frozen ablation-tower-clip-trained ablation-tower-random-trained ablation-lm-scratch"}
SEEDS=${SEEDS:-"1 2"}
mkdir -p runs
for row in $ROWS; do
  for seed in $SEEDS; do
    "$BIN" train --config "configs/train/$row.json" --seed "$seed" --resume
  done
done
