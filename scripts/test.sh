#!/usr/bin/env bash
# Runs every test and ends with each runner's own summary lines (and how long each part took).
# Exits non-zero if any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/release}
ASAN_DIR=${2:-build/asan}
TSAN_DIR=${3:-build/tsan}
FUZZ_DIR=${4:-$ASAN_DIR}
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-10}
JOBS=$(nproc)
rc=0
declare -A took

# step NAME COMMAND...: runs the command, its output to the terminal and to build/NAME.log, and
# remembers its seconds; a failure fails the whole run. (A pipe, not `> >(tee ...)`: the summary
# reads the logs, and a process substitution's tee may not have written its last lines yet.)
step() {
  local name=$1 start=$SECONDS
  shift
  "$@" 2>&1 | tee "build/$name.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  took[$name]=$((SECONDS - start))
}

echo "=== unit tests under ASan+UBSan ($ASAN_DIR) ==="
step unit-asan env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j "$JOBS"

echo "=== unit tests under TSan ($TSAN_DIR) ==="
step unit-tsan env JOBS="$JOBS" bash scripts/unit-tsan.sh "$TSAN_DIR"

echo "=== end-to-end tests ==="
step e2e env OPENWIT_BIN="$PWD/$BUILD_DIR/openwit" .venv/bin/python -m pytest -q tests/e2e

echo "=== fuzz targets: committed inputs replayed, then ${FUZZ_TEST_SECONDS} s of fuzzing each ($FUZZ_DIR) ==="
step fuzz env FUZZ_LOG=build/fuzz-summary.log bash scripts/fuzz.sh ci "$FUZZ_DIR" "$FUZZ_TEST_SECONDS"

echo "=== summary ==="
for log in unit-asan unit-tsan; do
  # (unit-tsan runs ctest twice: scripts/unit-tsan.sh says why; both lines are shown)
  result=$(grep -h -E 'tests passed|tests failed out of' "build/$log.log" | paste -sd ';' - | sed 's/;/; /g')
  echo "$log (${took[$log]} s): ${result:-no result}"
done
echo "e2e (${took[e2e]} s): $(tail -n 1 build/e2e.log)"
echo "fuzz (${took[fuzz]} s):"
sed 's/^/  /' build/fuzz-summary.log
exit $rc
