#!/usr/bin/env bash
# Installs, idempotently, everything OpenWit needs to build, run and test on a fresh Debian 12
# machine: Debian packages, the project's .venv (pinned pyarrow => Arrow C++), the OTLP protos, and
# MinIO (built into build/tools) for tests against a real S3.
# Each step checks first and does nothing when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '[setup] %s\n' "$*"; }
# shellcheck source=scripts/pinned-tool.sh
. scripts/pinned-tool.sh

# --- Debian packages ---------------------------------------------------------------------------
DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl unzip maven openjdk-17-jdk-headless
  python3-venv
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  librdkafka-dev libyaml-cpp-dev libsimdjson-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libzstd-dev zlib1g-dev libssl-dev openssl
  libsqlite3-dev libpq-dev postgresql libjemalloc-dev
  libgtest-dev libgmock-dev libboost-dev prometheus-cpp-dev
  clang libclang-rt-14-dev  # the fuzz targets (libFuzzer) and their ASan+UBSan: tests/fuzz
)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages: all present"
fi

# --- Python virtual environment ----------------------------------------------------------------
PY=${PYTHON:-python3}  # the machine's Python 3.11 (pyenv or Debian)
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating .venv from requirements.txt"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  # The wheel ships libarrow.so.2600 etc.; the unversioned names let the linker find them.
  .venv/bin/python -c 'import pyarrow; pyarrow.create_library_symlinks()'
  echo "$want" > "$stamp"
else
  say ".venv: up to date"
fi

# --- OTLP protos (Maven Central artifact; never committed) -------------------------------------
OTLP_VERSION=1.11.0-alpha
proto_dir=build/otlp-proto
if [ ! -f "$proto_dir/.version" ] || [ "$(cat "$proto_dir/.version")" != "$OTLP_VERSION" ]; then
  say "fetching OTLP protos $OTLP_VERSION"
  jar="$HOME/.m2/repository/io/opentelemetry/proto/opentelemetry-proto/$OTLP_VERSION/opentelemetry-proto-$OTLP_VERSION.jar"
  [ -f "$jar" ] || mvn -q -B dependency:get -Dartifact="io.opentelemetry.proto:opentelemetry-proto:$OTLP_VERSION" -Dtransitive=false
  rm -rf "$proto_dir" && mkdir -p "$proto_dir"
  unzip -q -o "$jar" 'opentelemetry/proto/*.proto' -d "$proto_dir"
  echo "$OTLP_VERSION" > "$proto_dir/.version"
else
  say "OTLP protos: present"
fi
# --- MinIO (S3 peer for tests; Go module, no semver tags; ~7 min cold build, never committed) ----
# Go from go.dev lives in /usr/local/go; Debian's golang-go (1.19) is too old for MinIO (go >= 1.24).
# The module cache ($(go env GOMODCACHE)) is shared and reused; only the binary goes into build/.
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
tools=$ROOT/build/tools
need_command go /usr/local/go/bin "MinIO needs Go >= 1.24 (Debian 12's golang-go is 1.19)"
pinned_tool MinIO "$tools/minio" "$tools/.minio.version" "$MINIO_MODULE" \
  env GOBIN="$tools" go install "$MINIO_MODULE"

# --- DuckDB, the search role's SQL engine (Go module proxy; linked into build/duckdb) ------------
# shellcheck source=scripts/duckdb-lib.sh
. scripts/duckdb-lib.sh
duckdb_library

# --- Apache Kafka for the end-to-end tests (Maven Central jars; never committed) ---------------
# One KRaft broker started by tests/e2e/peers.py (DESIGN.md, "Real peers"); the stamp holds the
# pom's hash, so a version change in scripts/kafka-pom.xml fetches again.
kafka_dir=build/kafka
kafka_want=$(sha256sum scripts/kafka-pom.xml | cut -d' ' -f1)
if [ ! -f "$kafka_dir/.version" ] || [ "$(cat "$kafka_dir/.version")" != "$kafka_want" ]; then
  say "fetching Apache Kafka jars (scripts/kafka-pom.xml)"
  rm -rf "$kafka_dir/lib" && mkdir -p "$kafka_dir"
  mvn -q -B -Dstyle.color=never -f scripts/kafka-pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$ROOT/$kafka_dir/lib" -DincludeScope=runtime
  ls "$kafka_dir"/lib/kafka_2.13-*.jar > /dev/null
  echo "$kafka_want" > "$kafka_dir/.version"
else
  say "Kafka jars: present"
fi
say "done"
