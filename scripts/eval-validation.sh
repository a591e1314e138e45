#!/usr/bin/env bash
# Validation accuracy of a model directory on the two selection sets of the small preset:
# SLAKE validate (English) and the by-image 10% slice of VQA-RAD's train split (seed 0).
# Each with its controls (blank and shuffled images) and the question-only prior beside it, and the
# reliability diagram of its answers' confidence (OUT_PREFIX-*.reliability.png), and the page a person
# reads (OUT_PREFIX-*.html).
# Usage: scripts/eval-validation.sh MODEL_DIR OUT_PREFIX [EVAL OPTIONS...] (e.g. --weights int8)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MEDVQA_BIN:-build/src/medvqa}
MODEL=$1
OUT=$2
shift 2
DATA=${MEDVQA_DATA:-../shared/data}
"$BIN" eval --controls --model "$MODEL" --dataset slake --questions "$DATA/slake/validate.json" --lang en \
  --train-answers "$DATA/slake/train.json" --out "$OUT-slake-en-val.json" \
  --reliability-diagram "$OUT-slake-en-val.reliability.png" --html "$OUT-slake-en-val.html" "$@"
"$BIN" eval --controls --model "$MODEL" --dataset vqa-rad --questions "$DATA/vqa-rad/trainset.json" \
  --holdout-fraction 0.1 --holdout-seed 0 --train-answers "$DATA/vqa-rad/trainset.json" --out "$OUT-vqa-rad-val.json" \
  --reliability-diagram "$OUT-vqa-rad-val.reliability.png" --html "$OUT-vqa-rad-val.html" "$@"
