#!/usr/bin/env bash
# The unit tests built with ThreadSanitizer (make build-tsan -> build/tsan), for `make unit-tsan`
# and `make test`. Reports in libraries we do not build (Arrow, gRPC: not instrumented, so TSan
# cannot see their synchronization) are suppressed in tests/unit/tsan.supp, each entry with why it
# is not ours; a report in our code fails the test.
set -uo pipefail
cd "$(dirname "$0")/.."
TSAN_DIR=${1:-build/tsan}
JOBS=${JOBS:-$(nproc)}
# atexit_sleep_ms: TSan's main thread sleeps 1 s at exit by default (for threads still running
# then); with one process per test (gtest_discover_tests) that second was half the run's time.
# 100 ms is plenty here: our tests join or stop every thread they start before they return.
export TSAN_OPTIONS="suppressions=$PWD/tests/unit/tsan.supp ignore_noninstrumented_modules=1 halt_on_error=1 \
second_deadlock_stack=1 atexit_sleep_ms=100 ${TSAN_OPTIONS:-}"
# Not run under TSan:
# - KafkaSource.StartsAndStops...: librdkafka starts its threads with C11 thrd_create, which
#   glibc 2.36 implements without calling pthread_create, so TSan never registers those threads
#   and crashes (SIGSEGV in its allocator) at their first malloc. Not a race, and nothing of ours:
#   the same test passes plain and under ASan.
# - OtlpWire.RandomMutationsAgreeWithProtobuf: one thread comparing 60,000 protobuf parses,
#   nothing for TSan to watch, and about two minutes under it (the plain and ASan runs keep it, and
#   the otlp_wire fuzz target does the same comparison).
EXCLUDE='KafkaSource\.StartsAndStopsWithTheConfigExtremesAndNoBroker|OtlpWire\.RandomMutationsAgreeWithProtobuf'
# Run without TSan's deadlock detector (races are still reported): the tests that fork a server
# (TestPostgres, TestMinio of tests/unit/test_servers.h). At fork, the prefork handlers of the two
# jemallocs loaded uninstrumented (Arrow's in libarrow, DuckDB's in libduckdb) lock all of their
# mutexes at once, more than the 64 per thread that the deadlock detector tracks, and TSan aborts
# ("CHECK failed: sanitizer_deadlock_detector.h:67", in pthread_mutex_trylock under
# je_arrow_private_je_malloc_mutex_prefork): not a race, and no lock of ours. A new test that
# starts a TestPostgres or TestMinio belongs in this list.
FORKING='MetastoreTest\.Postgres[A-Za-z]*|ObjectStoreTest\.S3[A-Za-z]*|TestServers\.[A-Za-z]*|LakeCacheTest\.[A-Za-z]*'
cd "$TSAN_DIR" || exit 1
rc=0
ctest --output-on-failure -j "$JOBS" -E "^($EXCLUDE|$FORKING)\$" || rc=1
TSAN_OPTIONS="$TSAN_OPTIONS detect_deadlocks=0" ctest --output-on-failure -j "$JOBS" -R "^($FORKING)\$" || rc=1
exit $rc
