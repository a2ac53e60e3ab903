# Sourced by scripts/setup.sh and bench/setup_tools.sh (which define `say`): builds a pinned tool
# once, idempotently.
#
# pinned_tool NAME BINARY STAMP VERSION COMMAND...
#   Does nothing when BINARY is executable and the file STAMP holds VERSION; else runs COMMAND
#   (printing a line every minute, since cold builds take minutes) and writes VERSION to STAMP.
pinned_tool() {
  local name=$1 binary=$2 stamp=$3 version=$4
  shift 4
  if [ -x "$binary" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    say "$name: present"
    return 0
  fi
  say "building $name $version (several minutes on a cold cache)"
  local start=$SECONDS ticker
  ( while sleep 60 >/dev/null 2>&1; do say "  ... still building $name ($((SECONDS - start)) s)"; done ) &
  ticker=$!
  if ! "$@"; then
    kill "$ticker" 2>/dev/null
    say "ERROR: building $name failed" >&2
    return 1
  fi
  kill "$ticker" 2>/dev/null
  mkdir -p "$(dirname "$stamp")"
  echo "$version" > "$stamp"
  say "$name built in $((SECONDS - start)) s: $binary"
}

# need_command COMMAND EXTRA_DIR WHY: puts EXTRA_DIR on PATH when COMMAND is not found there, and
# stops with WHY when it is still missing.
need_command() {
  command -v "$1" >/dev/null || PATH=$PATH:$2
  if ! command -v "$1" >/dev/null; then
    say "ERROR: $1 not found (PATH or $2): $3" >&2
    exit 1
  fi
}
