#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ with clang (build-fuzz: -fsanitize=fuzzer,address,undefined)
# and runs each for SECONDS (default $FUZZ_SECONDS, else 60). New inputs go to build-fuzz/corpus/<h>
# (the seed corpus fuzz/corpus/<h> is only read); a crash stops the run with exit 1 and leaves the
# input in build-fuzz/artifacts/. Usage: scripts/fuzz.sh [SECONDS]   (make fuzz, make fuzz-smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-${FUZZ_SECONDS:-60}}"
BUILD="${FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"
HARNESSES=(config goodbooks obd http)

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSTEWARD_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" -j "$JOBS"

mkdir -p "$BUILD/artifacts"
for h in "${HARNESSES[@]}"; do
  mkdir -p "$BUILD/corpus/$h"
  start=$(date +%s)
  if ! "$BUILD/fuzz/${h}_fuzz" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$BUILD/artifacts/$h-" "$BUILD/corpus/$h" "fuzz/corpus/$h" >"$BUILD/$h.log" 2>&1; then
    tail -n 60 "$BUILD/$h.log"
    echo "fuzz: $h FAILED; the input is in $BUILD/artifacts/ (add it to fuzz/corpus/$h once fixed)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/$h.log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $h ok: $runs inputs in $(( $(date +%s) - start ))s, no crash"
done
