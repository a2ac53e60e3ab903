#!/usr/bin/env bash
# Runs every test and ends with each runner's own summary lines. Exits non-zero if any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/release}
ASAN_DIR=${2:-build/asan}
TSAN_DIR=${3:-build/tsan}
FUZZ_DIR=${4:-build/fuzz}
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-15}
JOBS=$(nproc)
rc=0

echo "=== unit tests ($BUILD_DIR) ==="
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS") > >(tee build/unit.log) 2>&1 || rc=1

echo "=== unit tests under ASan+UBSan ($ASAN_DIR) ==="
(cd "$ASAN_DIR" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$JOBS") > >(tee build/unit-asan.log) 2>&1 || rc=1

echo "=== unit tests under TSan ($TSAN_DIR) ==="
bash scripts/unit-tsan.sh "$TSAN_DIR" > >(tee build/unit-tsan.log) 2>&1 || rc=1

echo "=== end-to-end tests ==="
OPENWIT_BIN="$PWD/$BUILD_DIR/openwit" .venv/bin/python -m pytest -q tests/e2e > >(tee build/e2e.log) 2>&1 || rc=1

echo "=== fuzz targets: committed inputs replayed, then ${FUZZ_TEST_SECONDS} s of fuzzing each ($FUZZ_DIR) ==="
bash scripts/fuzz.sh ci "$FUZZ_DIR" "$FUZZ_TEST_SECONDS" || rc=1

echo "=== summary ==="
for log in unit unit-asan unit-tsan; do
  echo "$log: $(grep -h -E 'tests passed|tests failed out of' "build/$log.log" || echo 'no result')"
done
echo "e2e: $(tail -n 1 build/e2e.log)"
cat build/fuzz.log
exit $rc
