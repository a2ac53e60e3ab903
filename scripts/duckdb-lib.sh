# Sourced by scripts/setup.sh (which defines `say` and puts Go on PATH): DuckDB for the search role
# (DESIGN.md, "Search engine"), idempotently.
#
# The Go module proxy serves DuckDB's C API as a header and static archives (the module that
# duckdb-go links). We check the module's hash against the pinned go.sum line, then link the
# archives into build/duckdb/libduckdb.so exporting only the functions duckdb.h declares (no C++
# internals to clash with Arrow's or gRPC's), and copy the header to build/duckdb/include. A stamp
# holding the module, its hash and this script's hash makes a second run do nothing.
DUCKDB_MODULE=github.com/duckdb/duckdb-go-bindings/lib/linux-amd64
DUCKDB_MODULE_VERSION=v0.10506.0  # DuckDB 1.5.6: the same version as the duckdb wheel in .venv
DUCKDB_MODULE_SUM='h1:yy2TUU+YWxiBiOQryYseUl0AcUzoFFYRmmrCGijUxiU='

duckdb_library() {
  local out=$ROOT/build/duckdb
  local want
  want="$DUCKDB_MODULE@$DUCKDB_MODULE_VERSION $DUCKDB_MODULE_SUM $(sha256sum "$ROOT/scripts/duckdb-lib.sh" | cut -d' ' -f1)"
  if [ -f "$out/lib/libduckdb.so" ] && [ -f "$out/include/duckdb.h" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$want" ]; then
    say "DuckDB: present"
    return 0
  fi
  say "fetching DuckDB $DUCKDB_MODULE@$DUCKDB_MODULE_VERSION (Go module proxy)"
  local json dir sum
  # Outside any Go module, so that nothing here reads or writes a go.mod.
  json=$(cd /tmp && go mod download -json "$DUCKDB_MODULE@$DUCKDB_MODULE_VERSION") || {
    say "ERROR: go mod download failed: $json" >&2
    return 1
  }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  if [ "$sum" != "$DUCKDB_MODULE_SUM" ]; then
    say "ERROR: $DUCKDB_MODULE@$DUCKDB_MODULE_VERSION has hash '$sum', expected $DUCKDB_MODULE_SUM" >&2
    return 1
  fi
  if [ ! -f "$dir/duckdb.h" ] || [ ! -f "$dir/libduckdb_static.a" ]; then
    say "ERROR: $dir lacks duckdb.h or libduckdb_static.a" >&2
    return 1
  fi
  local tmp=$out.tmp
  rm -rf "$tmp" && mkdir -p "$tmp/lib" "$tmp/include"
  # Export exactly the C API: every duckdb_* function the header declares. (A wildcard would also
  # export DuckDB's bundled jemalloc, whose symbols are named duckdb_je_*.)
  {
    echo "{ global:"
    grep -oE '\bduckdb_[a-z0-9_]+[[:space:]]*\(' "$dir/duckdb.h" | tr -d '( ' | sort -u | sed 's/$/;/'
    echo "local: *; };"
  } > "$tmp/duckdb.map"
  # DuckDB itself, the generated loader of its built-in extensions and those extensions (parquet,
  # json, icu, core_functions) whole, since only static initialisers reach them; then the vendored
  # libraries (and the autocomplete extension the loader names) as a group, taking what is used.
  local a=$dir vendored=()
  local lib
  for lib in "$a"/libduckdb_*.a; do
    case $lib in */libduckdb_static.a | */libduckdb_generated_extension_loader.a) ;; *) vendored+=("$lib") ;; esac
  done
  g++ -shared -o "$tmp/lib/libduckdb.so" -Wl,-soname,libduckdb.so -Wl,--version-script="$tmp/duckdb.map" \
    -Wl,--no-undefined -Wl,--build-id=none \
    -Wl,--whole-archive "$a/libduckdb_static.a" "$a/libduckdb_generated_extension_loader.a" \
    "$a/libparquet_extension.a" "$a/libjson_extension.a" "$a/libicu_extension.a" \
    "$a/libcore_functions_extension.a" -Wl,--no-whole-archive \
    -Wl,--start-group "$a/libautocomplete_extension.a" "${vendored[@]}" -Wl,--end-group \
    -lpthread -ldl -lm
  cp "$dir/duckdb.h" "$tmp/include/duckdb.h"
  cp "$dir/LICENSE" "$tmp/LICENSE"
  echo "$want" > "$tmp/.version"
  rm -rf "$out" && mv "$tmp" "$out"
  say "DuckDB linked: $out/lib/libduckdb.so ($(nm -D --defined-only "$out/lib/libduckdb.so" | wc -l) exported functions)"
}
