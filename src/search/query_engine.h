#pragma once
// The search role's engine (issue #13): SQL over the lake through embedded DuckDB. OpenWit picks
// the files (tenant, signal, time range), DuckDB plans and runs the SQL with its own Parquet scan
// and pruning; no SQL planner of our own.
//
// Confinement, in depth, for every query:
//  - the tables `logs`, `spans`, `metrics` are views over read_parquet() of the caller's files
//    only, passed as bound list values (never as SQL text);
//  - each tenant has its own in-memory DuckDB database (database_pool.h), whose files are those
//    of the tenant's directories only (allowed_directories + enable_external_access = false, then
//    lock_configuration): no path a query writes reaches another tenant's files;
//  - each query runs on a connection of its own: its views and variables are dropped when it ends;
//  - extension auto-install and auto-load are off;
//  - only one statement, and only a query (SELECT): SET, PRAGMA, COPY, ATTACH, INSTALL, LOAD,
//    CREATE, ... are refused before they run; read_parquet/read_csv/glob of any other path fail
//    with DuckDB's permission error.
// Bounds: search.query_timeout_ms (duckdb_interrupt from a timer), search.memory_limit_mb (per
// tenant database: the queries of one tenant running at once share it), search.max_result_rows
// (more rows are cut and flagged), search.max_concurrent_queries (more are refused at once),
// search.threads (DuckDB's threads per tenant database), search.cached_databases.
//
// Fresh records (issue #13): a record is searchable from its ack on, not only once its file is
// published. Before listing the metastore the engine asks the FreshSource (the storage nodes) for
// the tenant's unpublished batches of each table the query names, leaves out every lake file whose
// stem came with them (published in between: its rows are among them), and hands the batches to
// DuckDB as table functions over Arrow: each view is then read_parquet(...) UNION ALL BY NAME the
// fresh batches, with the same partition columns. No row is counted twice, none is lost while a
// file rotates.
//
// Timestamps: DuckDB 2.0 reads the lake's timestamp[ns, UTC] columns (Parquet TIMESTAMP(NANOS,
// isAdjustedToUTC=true)) as TIMESTAMPTZ_NS, so results keep their nanoseconds.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "common/config.h"
#include "search/database_pool.h"
#include "search/duckdb_session.h"
#include "search/fresh_source.h"
#include "search/lake_cache.h"
#include "storage/metastore/metastore.h"

namespace openwit::search {

struct QueryEngineOptions {
  storage::Metastore* metastore = nullptr;
  std::string lake_uri_root;  // file:///abs/lake (ObjectStore::uri_root())
  SearchConfig limits;        // bind and port unused here
  // The lake schema of each signal (logs, traces, metrics): a table the tenant has no file of yet
  // reads an empty Parquet file of that schema from scratch_dir, so its columns still bind.
  std::map<std::string, std::shared_ptr<arrow::Schema>> schemas;
  std::string scratch_dir;
  // Not owned. Null, or limits.freshness_seconds 0: the metastore's files only.
  FreshSource* fresh = nullptr;
  // Not owned. Where the files of a lake that is not local (s3://, gs://) are read from; needed then.
  LakeCache* cache = nullptr;
};

struct QueryRequest {
  std::string sql;
  std::optional<int64_t> start_ns = std::nullopt;  // files whose newest row is older are not read
  std::optional<int64_t> end_ns = std::nullopt;    // files whose oldest row is at or after are not read
  int64_t limit = 0;                               // rows returned at most; 0: search.max_result_rows
};

struct QueryStats {
  int64_t files_considered = 0;  // the tenant's files of the tables the query names
  int64_t files_pruned = 0;      // of those, outside [start, end)
  int64_t files_fresh = 0;       // of those, left out: published since the fresh answer, which holds their rows
  int64_t files_read = 0;        // handed to DuckDB
  int64_t bytes_in_files = 0;    // their size: what DuckDB reads at most (row-group pruning reads less)
  int64_t files_fetched = 0;     // of those, fetched from the object store into the search cache for this query
  int64_t bytes_fetched = 0;     // their size
  int64_t fresh_batches = 0;     // batches not published yet handed to DuckDB (those in [start, end))
  int64_t fresh_rows = 0;        // their rows
  int64_t fresh_sources_unreachable = 0;  // storage nodes that did not answer: their unpublished rows are missing
  int64_t rows_scanned = -1;              // DuckDB's profiler count of rows its scans produced (-1: not reported)
  bool database_reused = false;           // the tenant's database was open already (search.cached_databases)
  double open_ms = 0;                     // choosing files, fetching fresh batches, making the query's views
  double elapsed_ms = 0;                  // the whole query
};

struct QueryResult {
  QueryRows rows;
  QueryStats stats;
};

class QueryEngine {
 public:
  // Writes the empty Parquet files of `schemas` into scratch_dir.
  static arrow::Result<std::unique_ptr<QueryEngine>> Open(QueryEngineOptions options);

  // Runs one query for `tenant` (who comes from the credentials, never from the request).
  // Errors carry a QueryErrorKind (query_error.h).
  arrow::Result<QueryResult> Run(const std::string& tenant, const QueryRequest& request);

  int64_t running() const { return running_.load(); }
  const SearchConfig& limits() const { return options_.limits; }

 private:
  explicit QueryEngine(QueryEngineOptions options) : options_(std::move(options)) {}
  arrow::Result<QueryResult> RunAdmitted(const std::string& tenant, const QueryRequest& request);

  // The directories a database of `tenant` may read files from.
  std::vector<std::string> AllowedDirectories(const std::string& tenant) const;

  QueryEngineOptions options_;
  std::map<std::string, std::string> empty_files_;  // signal -> path
  std::unique_ptr<DatabasePool> databases_;
  std::atomic<int64_t> running_{0};
};

}  // namespace openwit::search
