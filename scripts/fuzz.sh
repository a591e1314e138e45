#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (in build-fuzz), makes their seed corpora from real files, replays the minimised inputs of earlier
# findings (fuzz/regressions/<harness>/), then runs each harness for a fixed time. A crash, an
# uncaught exception, a leak, a timeout, an input over the memory limit or a sanitizer report fails
# the run; the input is kept under build-fuzz/findings/<harness>/. Prints execs and coverage per harness.
# Usage: scripts/fuzz.sh [seconds per harness (default 60)] [harness ...]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
HARNESSES=(safetensors checkpoint_index torch_zip tokenizer_json tokenizer_encode image chat_request)
[ $# -gt 0 ] && HARNESSES=("$@")
BUILD=build-fuzz
# Every input must stay within these: a header may claim anything, the loader may not believe it.
RSS_LIMIT_MB=${MEDVQA_FUZZ_RSS_MB:-2048}
TIMEOUT_S=${MEDVQA_FUZZ_TIMEOUT_S:-20}

scripts/install-packages.sh clang libclang-rt-14-dev dcmtk python3-torch

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMEDVQA_FUZZ=ON -DMEDVQA_BUILD_TESTS=OFF -DMEDVQA_WERROR=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target "${HARNESSES[@]/%/_fuzzer}"

seeds=$BUILD/seeds
rm -rf "$seeds"
scripts/fuzz-seeds.sh "$seeds"

# libtorch allocates on its first use and keeps it (thread pools, registries): not leaks of an input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export OMP_NUM_THREADS=1
status=0
summary=()
for h in "${HARNESSES[@]}"; do
  bin=$BUILD/fuzz/${h}_fuzzer
  corpus=$BUILD/corpus/$h
  findings=$BUILD/findings/$h
  mkdir -p "$corpus" "$findings"
  options=(-rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" -artifact_prefix="$findings/")
  [ -f "fuzz/$h.dict" ] && options+=(-dict="fuzz/$h.dict")
  if [ -d "fuzz/regressions/$h" ]; then
    if ! "$bin" "${options[@]}" fuzz/regressions/"$h"/* > "$BUILD/$h.regressions.log" 2>&1; then
      echo "$h: a regression input fails again (log: $BUILD/$h.regressions.log)"; tail -30 "$BUILD/$h.regressions.log"
      status=1
    fi
  fi
  log=$BUILD/$h.log
  if "$bin" "${options[@]}" -max_total_time="$SECONDS_EACH" -print_final_stats=1 "$corpus" "$seeds/$h" > "$log" 2>&1; then
    result=ok
  else
    result="FAILED (log: $log, input under $findings/)"
    tail -40 "$log"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || echo "?")
  summary+=("$(printf '%-18s %5s s  %10s execs  %-20s %s' "$h" "$SECONDS_EACH" "$execs" "$cov" "$result")")
done
printf '%s\n' "${summary[@]}"
exit $status
