#!/usr/bin/env bash
# Sets up (Debian packages + build) and runs the whole test suite. Used by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build all

# The web page's browser test: Debian's chromium driven by playwright-core from npm.
web_packages=(chromium)
command -v npm >/dev/null || web_packages+=(nodejs npm)
scripts/install-packages.sh "${web_packages[@]}"
[ -d tests/web/node_modules/playwright-core ] || npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
# A missing fixture (../shared, the browser) fails instead of skipping (tests/testing/fixtures.h).
export MEDVQA_REQUIRE_FIXTURES=1

# Tests read ../shared/golden and ../shared/data unless MEDVQA_GOLDEN / MEDVQA_DATA say otherwise.
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900

# The parsers' libFuzzer harnesses under ASan + UBSan, 20 s each from their seed corpora
# (scripts/fuzz.sh runs them longer; the chat-request harness, which builds the whole server
# with clang, runs there too).
scripts/fuzz.sh 20 safetensors checkpoint_index torch_zip tokenizer_json tokenizer_encode image
