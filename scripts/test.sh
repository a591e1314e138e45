#!/usr/bin/env bash
# Sets up (Debian packages + build) and runs the whole test suite. Used by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
# Tests read ../shared/golden and ../shared/data unless MEDVQA_GOLDEN / MEDVQA_DATA say otherwise.
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
