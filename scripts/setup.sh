#!/usr/bin/env bash
# Installs the Debian packages medvqa needs and builds it (idempotent; safe to rerun).
# Usage: scripts/setup.sh [build-dir [target...]]   (default: build, and only the medvqa executable;
#        `all` builds the tests and benchmarks too, as scripts/test.sh does)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
shift || true
TARGETS=("${@:-medvqa}")

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp libopenblas-openmp-dev
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  libpng-dev libjpeg62-turbo-dev zlib1g-dev libdcmtk-dev dcmtk
  libgloo-dev libgtest-dev
  python3-torch
)
scripts/install-packages.sh "${PACKAGES[@]}"
# libtorch's fp32 matmul goes through the system BLAS: make sure it is OpenBLAS, not the reference BLAS (~10x slower).
if [ "$(id -u)" -eq 0 ]; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    lib=${alt%%-x86_64*}
    target=/usr/lib/x86_64-linux-gnu/openblas-openmp/${lib}
    [ -e "$target" ] && update-alternatives --set "$alt" "$target" >/dev/null
  done
fi

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the checkout, so clones in other folders (CI) hit the same cache entries.
export CCACHE_BASEDIR=$PWD
# PCH-friendly ccache settings: the precompiled header changes mtime on every clean build.
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
# MEDVQA_WERROR=ON (CI sets it) makes compiler warnings errors.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDVQA_WERROR="${MEDVQA_WERROR:-OFF}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TARGETS[@]}"
