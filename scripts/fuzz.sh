#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (README.md there) built in FUZZ_DIR.
#   scripts/fuzz.sh ci  FUZZ_DIR SECONDS   (make test) replays every committed seed and regression
#       input, then fuzzes each target for SECONDS from the seeds, in a fresh temp corpus.
#   scripts/fuzz.sh run FUZZ_DIR SECONDS   (make fuzz) the same, SECONDS per target, keeping the
#       corpus each run grows in build/fuzz-corpus/<target> for the next run.
# FUZZ_TARGETS="a b" picks targets; FUZZ_OPTIONS adds libFuzzer flags to the fuzzing (not to the
# replay), e.g. FUZZ_OPTIONS=-runs=10000000 stops a target at ten million executions. A crash
# leaves its input in build/fuzz-artifacts/<target>/: fix the code, then keep the input as
# tests/fuzz/regressions/<target>/<name> (replayed forever). FUZZ_WORK (build) is where the
# artifacts, the grown corpora and each target's output (fuzz-<target>.out) go: a long campaign
# in a directory of its own does not collide with `make test`. Each target's line
# ("fuzz <target>: ...") goes to FUZZ_LOG (build/fuzz.log); the exit status is non-zero if any
# target crashed, leaked, timed out or went over its memory limits.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?ci or run}
FUZZ_DIR=${2:-build/asan}
SECONDS_PER_TARGET=${3:-15}
ALL_TARGETS="otlp_wire bulk_header otlp_json decompress wal_recovery active_file config search_query traceql logql"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
WORK=${FUZZ_WORK:-build}
LOG=${FUZZ_LOG:-build/fuzz.log}
: > "$LOG"

# Largest input per target: above the seeds' sizes, small enough that a run explores rather than
# grinds through large inputs (and an amplification bug shows as a big allocation from a small
# input: -malloc_limit_mb).
max_len() {
  case $1 in
    active_file) echo 65536 ;;
    *) echo 16384 ;;
  esac
}

# Runs the target binary (output appended to $out) and removes what a crashed run left behind in
# its temp directories (wal_recovery, active_file: named after the process id).
run() {
  "$bin" "$@" >> "$out" 2>&1 &
  local pid=$!
  wait $pid
  local status=$?
  rm -rf /dev/shm/openwit-fuzz-*-"$pid" "${TMPDIR:-/tmp}"/openwit-fuzz-*-"$pid"
  return $status
}

rc=0
for t in $TARGETS; do
  bin=$FUZZ_DIR/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  regressions=tests/fuzz/regressions/$t
  artifacts=$WORK/fuzz-artifacts/$t
  mkdir -p "$artifacts" "$regressions"
  if [ "$MODE" = run ]; then
    corpus=$WORK/fuzz-corpus/$t
    mkdir -p "$corpus"
    seed=()
  else
    corpus=$(mktemp -d "${TMPDIR:-/tmp}/openwit-fuzz-$t.XXXXXX")
    # A fixed seed: the bounded run of make test takes the same path on every machine (a slower one
    # only stops earlier on it), so what it finds in CI was there to find before pushing.
    seed=(-seed=1)
  fi
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  options=(-max_len="$(max_len "$t")" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10
           -artifact_prefix="$artifacts/" -print_final_stats=1 "${dict[@]}")
  out=$WORK/fuzz-$t.out
  status=ok
  # 1. Every committed input once, whole (not cut to -max_len): the seeds must run clean, and every
  # crash ever fixed stays fixed.
  mapfile -t committed < <(find "$seeds" "$regressions" -type f | sort)
  replayed=${#committed[@]}
  : > "$out"
  if ! run "${options[@]}" "${committed[@]}"; then
    status="FAILED replaying the committed inputs (see $out)"
  fi
  # 2. Fuzzing from the seeds (new inputs go to the first directory).
  execs=0
  start=$(date +%s)
  if [ "$status" = ok ]; then
    # No allocation stacks while fuzzing (ASan's stack depot was a quarter of the time): a crash
    # is replayed from its input with them, as step 1 does.
    if ! ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0} \
        run "${options[@]}" "${seed[@]}" -max_total_time="$SECONDS_PER_TARGET" ${FUZZ_OPTIONS:-} "$corpus" "$seeds" "$regressions"; then
      status="CRASH (input in $artifacts/, log in $out)"
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
  fi
  elapsed=$(($(date +%s) - start))
  size=$(find "$corpus" -type f | wc -l)
  [ "$MODE" = run ] || rm -rf "$corpus"
  [ "$status" = ok ] || rc=1
  line="fuzz $t: ${execs:-0} executions in ${elapsed} s, $replayed committed inputs replayed, corpus $size, $status"
  echo "$line" | tee -a "$LOG"
done
exit $rc
