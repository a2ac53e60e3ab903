# Sourced by scripts/setup.sh (which defines `say` and puts Go on PATH): DuckDB for the search role
# (DESIGN.md, "Search engine"), idempotently.
#
# The Go module proxy serves DuckDB's C API as two modules: the header (in duckdb-go-bindings) and
# the static archives of a release (go.duckdb.org/libduckdb/linux-amd64). We check both modules'
# hashes against pinned go.sum lines, then link the archives into build/duckdb/libduckdb.so
# exporting only the C API (no C++ internals to clash with Arrow's or gRPC's), and copy the header
# to build/duckdb/include. A stamp holding the modules, their hashes and this script's hash makes a
# second run do nothing.
#
# DuckDB 2.0: the first release that reads the lake's Parquet TIMESTAMP(NANOS, UTC) columns as
# TIMESTAMPTZ_NS, keeping their nanoseconds (1.5 read them as microseconds).
DUCKDB_HEADER_MODULE=github.com/duckdb/duckdb-go-bindings
DUCKDB_HEADER_VERSION=v0.20000.0 # DuckDB 2.0.0: the same version as the duckdb wheel in .venv
DUCKDB_HEADER_SUM='h1:jCIPcbfOCvGcu6yJxekEspry+5MuxrpOSrRWTqinn20='
DUCKDB_LIB_MODULE=go.duckdb.org/libduckdb/linux-amd64
DUCKDB_LIB_VERSION=v0.20000.0
DUCKDB_LIB_SUM='h1:7WPX45BIgaeoLmVuWGwzLfuIC78JEvdlZIPnHbyhh1c='

# Prints the directory of module $1@$2 after checking that its hash is $3.
duckdb_module_dir() {
  local json dir sum
  # Outside any Go module, so that nothing here reads or writes a go.mod.
  json=$(cd /tmp && go mod download -json "$1@$2") || {
    say "ERROR: go mod download $1@$2 failed: $json" >&2
    return 1
  }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  if [ "$sum" != "$3" ]; then
    say "ERROR: $1@$2 has hash '$sum', expected $3" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

duckdb_library() {
  local out=$ROOT/build/duckdb
  local want
  want="$DUCKDB_HEADER_MODULE@$DUCKDB_HEADER_VERSION $DUCKDB_HEADER_SUM $DUCKDB_LIB_MODULE@$DUCKDB_LIB_VERSION"
  want="$want $DUCKDB_LIB_SUM $(sha256sum "$ROOT/scripts/duckdb-lib.sh" | cut -d' ' -f1)"
  if [ -f "$out/lib/libduckdb.so" ] && [ -f "$out/include/duckdb.h" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$want" ]; then
    say "DuckDB: present"
    return 0
  fi
  say "fetching DuckDB $DUCKDB_LIB_MODULE@$DUCKDB_LIB_VERSION (Go module proxy)"
  local header_dir a
  header_dir=$(duckdb_module_dir "$DUCKDB_HEADER_MODULE" "$DUCKDB_HEADER_VERSION" "$DUCKDB_HEADER_SUM") || return 1
  a=$(duckdb_module_dir "$DUCKDB_LIB_MODULE" "$DUCKDB_LIB_VERSION" "$DUCKDB_LIB_SUM") || return 1
  local header=$header_dir/include/duckdb.h
  if [ ! -f "$header" ] || [ ! -f "$a/libduckdb_static.a" ] || [ ! -f "$a/duckdb_static_extension.h" ]; then
    say "ERROR: $header, $a/libduckdb_static.a or $a/duckdb_static_extension.h is missing" >&2
    return 1
  fi
  local tmp=$out.tmp
  rm -rf "$tmp" && mkdir -p "$tmp/lib" "$tmp/include" "$tmp/obj"
  # Export exactly the C API: every duckdb_* function the headers declare, and our loader. (A
  # wildcard would also export DuckDB's bundled jemalloc, whose symbols are named duckdb_je_*.)
  {
    echo "{ global:"
    cat "$header" "$a/duckdb_static_extension.h" | grep -oE '\bduckdb_[a-z0-9_]+[[:space:]]*\(' | tr -d '( ' | sort -u | sed 's/$/;/'
    echo "openwit_duckdb_register_extensions;"
    echo "local: *; };"
  } > "$tmp/duckdb.map"
  # The built-in extensions the search role uses, registered by a call the search code makes once
  # before its first database (a 2.0 release no longer registers them from static initialisers).
  # Only these four: not httplib, tpch, tpcds nor the loader of downloadable extensions.
  cat > "$tmp/obj/extensions.c" <<'C'
#include "duckdb_static_extension.h"
int32_t duckdb_extension_core_functions_describe(duckdb_extension_descriptor *descriptor);
int32_t duckdb_extension_icu_describe(duckdb_extension_descriptor *descriptor);
int32_t duckdb_extension_json_describe(duckdb_extension_descriptor *descriptor);
int32_t duckdb_extension_parquet_describe(duckdb_extension_descriptor *descriptor);
/* 0 when every extension registered. */
int32_t openwit_duckdb_register_extensions(void) {
  int32_t failed = 0;
  failed |= duckdb_register_static_extension(duckdb_extension_core_functions_describe) != 0;
  failed |= duckdb_register_static_extension(duckdb_extension_icu_describe) != 0;
  failed |= duckdb_register_static_extension(duckdb_extension_json_describe) != 0;
  failed |= duckdb_register_static_extension(duckdb_extension_parquet_describe) != 0;
  return failed;
}
C
  # The release was compiled against GCC 13's libstdc++, whose <iostream> calls this function
  # (GLIBCXX_3.4.32); Debian 12's libstdc++ predates it. It initialises the standard streams once,
  # as GCC 13's own definition does.
  cat > "$tmp/obj/libstdcxx13.cc" <<'CXX'
#include <ios>
namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}  // namespace std
CXX
  gcc -c -O2 -fPIC -DDUCKDB_STATIC_BUILD -I"$a" -o "$tmp/obj/extensions.o" "$tmp/obj/extensions.c"
  g++ -c -O2 -fPIC -o "$tmp/obj/libstdcxx13.o" "$tmp/obj/libstdcxx13.cc"
  # DuckDB itself and the four extensions whole (nothing references them but the loader's
  # describe functions); the vendored libraries as a group, taking what is used.
  g++ -shared -o "$tmp/lib/libduckdb.so" -Wl,-soname,libduckdb.so -Wl,--version-script="$tmp/duckdb.map" \
    -Wl,--no-undefined -Wl,--build-id=none "$tmp/obj/extensions.o" "$tmp/obj/libstdcxx13.o" \
    -Wl,--whole-archive "$a/libduckdb_static.a" "$a/libparquet_extension.a" "$a/libjson_extension.a" \
    "$a/libicu_extension.a" "$a/libcore_functions_extension.a" -Wl,--no-whole-archive \
    -Wl,--start-group "$a/libduckdb_httplib.a" "$a/libduckdb_loadable_extensions.a" -Wl,--end-group \
    -lpthread -ldl -lm
  cp "$header" "$tmp/include/duckdb.h"
  cp "$a/LICENSE" "$tmp/LICENSE"
  rm -rf "$tmp/obj" "$tmp/duckdb.map"
  echo "$want" > "$tmp/.version"
  rm -rf "$out" && mv "$tmp" "$out"
  say "DuckDB linked: $out/lib/libduckdb.so ($(nm -D --defined-only "$out/lib/libduckdb.so" | wc -l) exported functions)"
}
