#!/usr/bin/env bash
# Compiles every project source (syntax and types, no code generation) against libtorch 2.x's
# headers, which Debian 12 lacks: Debian 13's libtorch-dev (2.6) is fetched into
# build-libtorch2/ (nothing is installed) and the build's compile commands are rerun with it in
# place of 1.13's, without the precompiled header (so a file that needs a header it does not
# include fails too). Linking and running against 2.x need a libtorch built for this system,
# such as a CUDA machine's PyTorch wheel.
# Usage: scripts/check-libtorch2.sh [BUILD_DIR [FILTER]]  (a configured build: compile_commands.json;
#        FILTER: only sources whose path contains it). About 25 minutes on 2 cores for everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
FILTER=${2:-}
WORK=$PWD/build-libtorch2
[ -f "$BUILD/compile_commands.json" ] || { echo "no $BUILD/compile_commands.json: configure the build first" >&2; exit 1; }
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/debs"
if [ ! -f "$WORK/root/usr/include/torch/csrc/api/include/torch/version.h" ]; then
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$WORK/sources.list"
  apt_options=(-o Dir::Etc::SourceList="$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
               -o Dir::State::Lists="$WORK/lists" -o Dir::Cache="$WORK/cache" -o Debug::NoLocking=1
               -o APT::Sandbox::User="$(id -un)")
  apt-get "${apt_options[@]}" update -qq
  (cd "$WORK/debs" && apt-get "${apt_options[@]}" download libtorch-dev)
  rm -rf "$WORK/root"
  dpkg-deb -x "$WORK"/debs/libtorch-dev_*.deb "$WORK/root"
fi
python3 - "$BUILD/compile_commands.json" "$WORK/root/usr/include" "$PWD" "$FILTER" <<'PY'
import json, os, shlex, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
commands, include, root, only = sys.argv[1:]
api = include + "/torch/csrc/api/include"

def command(entry, source):
    out, args = [], shlex.split(entry["command"])
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-o", "-MF", "-MT", "-include"):  # outputs and the precompiled header
            i += 2
            continue
        if a not in ("-MD", "-c", "-Winvalid-pch") and not a.endswith("ccache"):
            out.append(api if a.endswith("/torch/csrc/api/include") else a)
        i += 1
    return out[:1] + ["-isystem", include] + out[1:] + ["-fsyntax-only", source]

entries = [e for e in json.load(open(commands)) if e["file"].startswith(root + "/") and only in e["file"]]
if not entries:
    sys.exit("no sources match")
# The headers really are 2.x: a probe that fails on 1.13.
with tempfile.NamedTemporaryFile("w", suffix=".cpp") as probe:
    probe.write("#include <torch/torch.h>\nstatic_assert(TORCH_VERSION_MAJOR >= 2, \"not libtorch 2\");\n")
    probe.flush()
    r = subprocess.run(command(entries[0], probe.name), cwd=entries[0]["directory"], capture_output=True, text=True)
    if r.returncode:
        sys.exit("the probe did not compile against " + include + ":\n" + r.stderr[-2000:])

def check(entry):
    r = subprocess.run(command(entry, entry["file"]), cwd=entry["directory"], capture_output=True, text=True)
    return entry["file"], r.returncode, r.stderr

failed = 0
with ThreadPoolExecutor(max(1, (os.cpu_count() or 2))) as pool:
    for source, rc, err in pool.map(check, entries):
        if rc:
            failed += 1
            print("FAILED", os.path.relpath(source, root))
            print("\n".join(l for l in err.splitlines() if "error" in l)[:4000], flush=True)
print(f"{len(entries)} sources against libtorch 2.x headers: {failed} failed")
sys.exit(1 if failed else 0)
PY
