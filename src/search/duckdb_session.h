#pragma once
// One in-memory DuckDB database and its connection, through DuckDB's C API (DESIGN.md, "Search
// engine"): what the query engine needs of DuckDB and nothing more. A session serves one query
// (settings such as allowed_paths are database-wide, so a session is never shared between
// callers), and is closed when the query ends.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

namespace openwit::search {

struct DuckDbSettings {
  int64_t threads = 1;
  int64_t memory_limit_mb = 512;
};

// What a query returned, as Arrow.
struct QueryRows {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t rows = 0;
  bool truncated = false;  // more rows than max_rows existed; only max_rows are here
};

// DuckDB's own counters of the last query (profiling), -1 when DuckDB did not say. (Its
// TOTAL_BYTES_READ is left out: for local Parquet it counted a few KB of 1 MB files read whole.)
struct DuckDbCounters {
  int64_t rows_scanned = -1;  // CUMULATIVE_ROWS_SCANNED: a plan that scans twice counts twice
};

// Registers the built-in extensions linked into libduckdb.so (parquet, json, icu, core_functions)
// with DuckDB, once per process; DuckDbSession::Open does it, and so must any other user of the C
// API before its first database (DuckDB 2.0 no longer does it from static initialisers).
arrow::Status RegisterDuckDbExtensions();

class DuckDbSession {
 public:
  // Opens an in-memory database: extension auto-install and auto-load off, no spilling to disk,
  // `threads` and `memory_limit` as given, TimeZone UTC (time buckets never depend on the host).
  static arrow::Result<std::unique_ptr<DuckDbSession>> Open(const DuckDbSettings& settings);
  ~DuckDbSession();
  DuckDbSession(const DuckDbSession&) = delete;
  DuckDbSession& operator=(const DuckDbSession&) = delete;

  // Runs one statement of OpenWit's own (set-up), binding each list as a VARCHAR[] parameter
  // ($1, $2, ...): paths travel as values, never as SQL text. Each list has at least one item.
  arrow::Status Run(const std::string& sql, const std::vector<std::vector<std::string>>& lists = {});

  // Makes `batches` (each of `schema`, none empty) the table function `name`() of this database,
  // handed to DuckDB through the Arrow C data interface (DESIGN.md "Search engine": the deprecated
  // duckdb_arrow_scan crashes on projections). The session keeps the batches; DuckDB reads them in
  // place. Call before lock_configuration.
  arrow::Status RegisterArrowTable(const std::string& name, const std::shared_ptr<arrow::Schema>& schema,
                                   std::vector<std::shared_ptr<arrow::RecordBatch>> batches);

  // Prepares the caller's SQL: exactly one statement, and a SELECT (a query); anything else is
  // refused (QueryErrorKind::kRefused) before it runs. DuckDB's errors keep their message.
  arrow::Status PrepareQuery(const std::string& sql);

  // Runs what PrepareQuery prepared, streaming: stops reading after max_rows (and says so).
  arrow::Result<QueryRows> Execute(int64_t max_rows);

  // DuckDB's counters of the query Execute ran (profiling must be on: Run("SET enable_profiling
  // = 'no_output'") before it).
  DuckDbCounters Counters();

  // Stops the running statement (its error is then QueryErrorKind::kTimeout). Any thread.
  void Interrupt();

 private:
  struct Impl;
  explicit DuckDbSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace openwit::search
