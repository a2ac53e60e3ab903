#pragma once
// Each tenant's DuckDB database, kept open for its next query: opening one costs ~20 ms (DuckDB's
// catalog and built-in extensions), which a query of 10 ms would otherwise pay every time, and a
// kept database keeps DuckDB's cache of the Parquet it read. A database is confined to one tenant
// when it opens (duckdb_session.h: the files of that tenant's directories only, settings locked),
// so keeping it lets no query see more than it did; each query runs on a connection of its own
// (duckdb_session.h says what a connection keeps from one query to the next).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <arrow/result.h>

#include "search/duckdb_session.h"

namespace openwit::search {

struct DatabasePoolOptions {
  // Databases kept open between queries (one per tenant; the least recently used is closed
  // first). 0: every query opens its own and closes it (search.cached_databases).
  size_t capacity = 4;
  // A database no query used for this long is closed at the next lease (it holds up to
  // memory_limit of DuckDB's caches).
  std::chrono::milliseconds idle = std::chrono::seconds(60);
  // The settings of a tenant's database: its directories, threads, memory, connections.
  std::function<DuckDbSettings(const std::string& tenant)> settings_of;
};

class DatabasePool {
 public:
  explicit DatabasePool(DatabasePoolOptions options) : options_(std::move(options)) {}

  struct Lease {
    std::unique_ptr<DuckDbSession> session;
    bool reused = false;  // the tenant's database was open already
  };
  // A session on the tenant's database, opening one when it has none (or none with a free
  // connection).
  arrow::Result<Lease> Acquire(const std::string& tenant);

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::shared_ptr<DuckDbDatabase> database;
    Clock::time_point last_used;
  };
  DatabasePoolOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> databases_;
};

}  // namespace openwit::search
