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

# Prints a line every minute while a long build runs, so a silent terminal is not taken for a hang.
ticker() {
  local what=$1 start=$SECONDS
  ( while sleep 60 >/dev/null 2>&1; do say "  ... still building $what ($((SECONDS - start)) s)"; done ) &
  TICKER=$!
}

# --- telemetrygen (OpenTelemetry Collector contrib's load generator; ~1 min cold) ---------------
TELEMETRYGEN_MODULE=github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0
if [ ! -x "$tools/telemetrygen" ] || [ "$(cat "$tools/.telemetrygen.version" 2>/dev/null)" != "$TELEMETRYGEN_MODULE" ]; then
  command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
  if ! command -v go >/dev/null; then
    say "ERROR: go not found (PATH or /usr/local/go/bin); telemetrygen needs a recent Go from go.dev" >&2
    exit 1
  fi
  say "building telemetrygen with $(go version | cut -d' ' -f3) (go install $TELEMETRYGEN_MODULE)"
  ticker telemetrygen
  trap 'kill $TICKER 2>/dev/null' EXIT
  GOBIN="$tools" go install "$TELEMETRYGEN_MODULE"
  kill $TICKER 2>/dev/null; trap - EXIT
  echo "$TELEMETRYGEN_MODULE" > "$tools/.telemetrygen.version"
  say "telemetrygen: $tools/telemetrygen"
else
  say "telemetrygen: present"
fi

# --- otlp2parquet (the peer server: OTLP/HTTP -> Parquet, no WAL; ~6 min cold) -----------------
OTLP2PARQUET_VERSION=0.12.0
o2p=$tools/otlp2parquet
if [ ! -x "$o2p/bin/otlp2parquet" ] || [ "$(cat "$o2p/.version" 2>/dev/null)" != "$OTLP2PARQUET_VERSION" ]; then
  command -v cargo >/dev/null || PATH=$PATH:$HOME/.cargo/bin
  if ! command -v cargo >/dev/null; then
    say "ERROR: cargo not found (PATH or ~/.cargo/bin); otlp2parquet is installed from crates.io with cargo" >&2
    exit 1
  fi
  say "building otlp2parquet $OTLP2PARQUET_VERSION with $(cargo --version | cut -d' ' -f2) (cargo install --locked; ~6 min cold)"
  ticker otlp2parquet
  trap 'kill $TICKER 2>/dev/null' EXIT
  cargo install --quiet --locked "otlp2parquet@$OTLP2PARQUET_VERSION" --root "$o2p"
  kill $TICKER 2>/dev/null; trap - EXIT
  echo "$OTLP2PARQUET_VERSION" > "$o2p/.version"
  say "otlp2parquet: $o2p/bin/otlp2parquet"
else
  say "otlp2parquet: present"
fi
