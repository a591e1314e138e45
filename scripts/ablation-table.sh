#!/usr/bin/env bash
# Prints the ablation table (mean ± sd over seeds of the last evaluation's exact match, with real
# and with blank images) from runs/ablation-*-seed*/metrics.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import glob, json, re, statistics
rows = {}
for path in sorted(glob.glob("runs/ablation-*-seed*/metrics.jsonl")):
    row = re.sub(r"-seed\d+$", "", path.split("/")[1])
    evals = [json.loads(l) for l in open(path) if '"exact_match"' in l]
    if evals:
        rows.setdefault(row, []).append(evals[-1])
def cell(values):
    values = [100 * v for v in values]
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"
print("| row | seeds | closed | open | overall | overall, blank images | drop |")
print("|---|---|---|---|---|---|---|")
for row, evals in rows.items():
    get = lambda k: [e[k] for e in evals]
    drop = [e["exact_match"] - e["blank_images_exact_match"] for e in evals]
    print(f"| {row} | {len(evals)} | {cell(get('exact_match_closed'))} | {cell(get('exact_match_open'))} | "
          f"{cell(get('exact_match'))} | {cell(get('blank_images_exact_match'))} | {cell(drop)} |")
PY
