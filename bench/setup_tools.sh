#!/usr/bin/env bash
# Installs, idempotently, the peers of the end-to-end gateway benchmark (bench/gateway_bench.py)
# into build/tools: telemetrygen (the load generator, a Go module) and otlp2parquet (the peer
# server, a Rust crate; ~6 min cold build). Bench-only on purpose: `make setup` and `make test`
# never call this, so CI does not spend minutes on a benchmark peer. `make bench` does.
# Each step checks its version stamp first and does nothing when the right version is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
tools=$ROOT/build/tools
mkdir -p "$tools"

say() { printf '[bench-setup] %s\n' "$*"; }

# shellcheck source=scripts/pinned-tool.sh
. scripts/pinned-tool.sh

# --- telemetrygen (OpenTelemetry Collector contrib's load generator; ~1 min cold) ---------------
TELEMETRYGEN_MODULE=github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0
need_command go /usr/local/go/bin "telemetrygen needs a recent Go from go.dev"
pinned_tool telemetrygen "$tools/telemetrygen" "$tools/.telemetrygen.version" "$TELEMETRYGEN_MODULE" \
  env GOBIN="$tools" go install "$TELEMETRYGEN_MODULE"

# --- otlp2parquet (the peer server: OTLP/HTTP -> Parquet, no WAL; ~6 min cold) -----------------
OTLP2PARQUET_VERSION=0.12.0
o2p=$tools/otlp2parquet
need_command cargo "$HOME/.cargo/bin" "otlp2parquet is installed from crates.io with cargo"
pinned_tool otlp2parquet "$o2p/bin/otlp2parquet" "$o2p/.version" "$OTLP2PARQUET_VERSION" \
  cargo install --quiet --locked "otlp2parquet@$OTLP2PARQUET_VERSION" --root "$o2p"
