# OpenWit: the two commands a newcomer needs are `make run` and `make test`.
# Every target installs what is missing first (scripts/setup.sh is idempotent and quick when done).
SHELL := /bin/bash
BUILD_DIR  ?= build/release
ASAN_DIR   ?= build/asan
TSAN_DIR   ?= build/tsan
# The fuzz targets are built in the ASan+UBSan tree: they and the unit tests share its objects.
FUZZ_DIR   ?= $(ASAN_DIR)
# Seconds each fuzz target runs: in `make test` (after replaying its committed inputs), and in
# `make fuzz` (which keeps the corpus it grows in build/fuzz-corpus). FUZZ_TARGETS picks targets.
FUZZ_TEST_SECONDS ?= 10
FUZZ_SECONDS      ?= 600
CONFIG     ?= config/openwit.yaml
JOBS       ?= $(shell nproc)
# CI builds treat warnings as errors.
WERROR     := $(if $(CI),ON,OFF)
CMAKE_ARGS := -G Ninja -DOPENWIT_WERROR=$(WERROR)

.PHONY: all setup build build-binary build-asan build-tsan run test unit unit-asan unit-tsan e2e fuzz fuzz-seeds \
        bench bench-setup format clean readme-reference

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The server binary alone: what `make run` and the end-to-end tests need.
build-binary: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target openwit

# ASan+UBSan: clang, -O1 with line tables, and libFuzzer's coverage instrumentation, so that one
# tree builds both the unit tests and the fuzz targets (tests/fuzz/README.md): `make test` compiles
# the sources once for both. A tree configured otherwise (by g++, before the fuzz targets joined
# it) is configured afresh.
build-asan: setup
	@grep -qs '^OPENWIT_FUZZ:BOOL=ON' $(ASAN_DIR)/CMakeCache.txt || { rm -rf $(ASAN_DIR) && \
	  cmake -S . -B $(ASAN_DIR) $(CMAKE_ARGS) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPENWIT_FUZZ=ON -DOPENWIT_BUILD_BINARY=OFF; }
	cmake --build $(ASAN_DIR) -j $(JOBS) --target openwit_unit_tests openwit_fuzz

# ThreadSanitizer: the unit tests only, -O1 with line tables (what a report needs, and a quicker build).
$(TSAN_DIR)/build.ninja:
	cmake -S . -B $(TSAN_DIR) $(CMAKE_ARGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" \
	  -DOPENWIT_TSAN=ON -DOPENWIT_BUILD_BINARY=OFF

build-tsan: setup $(TSAN_DIR)/build.ninja
	cmake --build $(TSAN_DIR) -j $(JOBS) --target openwit_unit_tests

run: build-binary
	$(BUILD_DIR)/openwit all --config $(CONFIG)

# Unit tests twice (ASan+UBSan, TSan), the end-to-end suite against the real (release) binary, then
# every fuzz target: its committed inputs replayed and FUZZ_TEST_SECONDS of fuzzing. The release
# tree builds only the binary here: a third, uninstrumented build of the unit tests found nothing
# the two sanitized runs miss, and cost a quarter of CI's time (`make unit` still runs it).
test: build-binary build-asan build-tsan
	@FUZZ_TEST_SECONDS=$(FUZZ_TEST_SECONDS) bash scripts/test.sh $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR)

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

unit-asan: build-asan
	cd $(ASAN_DIR) && ctest --output-on-failure -j $(JOBS)

unit-tsan: build-tsan
	JOBS=$(JOBS) bash scripts/unit-tsan.sh $(TSAN_DIR)

e2e: build-binary
	OPENWIT_BIN=$(CURDIR)/$(BUILD_DIR)/openwit .venv/bin/python -m pytest -q tests/e2e

# Each fuzz target for FUZZ_SECONDS (default 10 minutes each), growing build/fuzz-corpus.
fuzz: build-asan
	@bash scripts/fuzz.sh run $(FUZZ_DIR) $(FUZZ_SECONDS)

# Rewrites the seed corpora of tests/fuzz/corpus from our own writers (then commit them).
fuzz-seeds: build-asan
	$(FUZZ_DIR)/openwit_fuzz_seeds $(CURDIR)

# The benchmarks of bench/RESULTS.md with short defaults (~5 minutes, plus ~7 minutes once for
# bench-setup); see there for the full runs.
CORPUS     ?= build/corpus
BENCH_WORK ?= build/bench-work
# The gateway benchmark's peers (telemetrygen, otlp2parquet) are bench-only: never part of `setup`.
bench-setup:
	@bash bench/setup_tools.sh

GATEWAY_BENCH_ARGS ?= --workers 1,8 --seconds 10
bench: build bench-setup
	@test -f $(CORPUS)/manifest.json || .venv/bin/python ../shared/bench/corpus.py $(CORPUS)
	$(BUILD_DIR)/openwit_ingest_bench $(CORPUS) $(BENCH_WORK) --batch 1000 --senders 8 --sync true --seconds 5
	$(BUILD_DIR)/openwit_convert_bench $(CORPUS) --signal logs --seconds 1.5 --repeat 1
	$(BUILD_DIR)/openwit_dedup_bench
	$(BUILD_DIR)/openwit_storage_bench $(CORPUS) $(BENCH_WORK) --tenants 1 --repeat 3
	$(BUILD_DIR)/openwit_storage_bench $(CORPUS) $(BENCH_WORK) --tenants 4 --repeat 3
	.venv/bin/python bench/gateway_bench.py --openwit $(BUILD_DIR)/openwit --work $(BENCH_WORK) $(GATEWAY_BENCH_ARGS)

format:
	@command -v clang-format >/dev/null || (apt-get install -y -qq clang-format || (apt-get update -qq && apt-get install -y -qq clang-format))
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'src/*.cpp' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'bench/*.h')

clean:
	rm -rf build/release build/asan build/tsan build/fuzz

# Regenerates README.md's configuration reference from the schema (a unit test checks they agree).
readme-reference: build
	@$(BUILD_DIR)/openwit config reference > build/config-reference.md
	@.venv/bin/python scripts/update_readme_reference.py build/config-reference.md
