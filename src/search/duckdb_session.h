#pragma once
// DuckDB through its C API (DESIGN.md, "Search engine"): what the query engine needs of it and
// nothing more. A DuckDbDatabase is one in-memory database confined when it opens (the files it
// may read, no extension loading, settings locked) and serves one tenant; its connections are
// handed out as DuckDbSessions, one per query, and put back when the session ends (its fresh
// tables gone; its views and variables kept for the next, which reads through them only what it
// sets itself). Opening a database costs ~20 ms, a session
// nothing: the query engine keeps each tenant's database for the next query (database_pool.h).

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
  // The only directories a query may read files from (DuckDB's allowed_directories with external
  // access off), each ending in '/'. DuckDB resolves `..` before it checks: a path that leaves
  // them is refused whatever it looks like.
  std::vector<std::string> allowed_directories;
  // Sessions the database serves at once.
  int64_t connections = 1;
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
// with DuckDB, once per process; DuckDbDatabase::Open does it, and so must any other user of the C
// API before its first database (DuckDB 2.0 no longer does it from static initialisers).
arrow::Status RegisterDuckDbExtensions();

class DuckDbSession;
struct DuckDbConnection;  // one connection of a database (duckdb_session.cc)

class DuckDbDatabase {
 public:
  // Opens an in-memory database: extension auto-install and auto-load off, no spilling to disk,
  // `threads` and `memory_limit` as given, TimeZone UTC (time buckets never depend on the host),
  // files readable only under allowed_directories, profiling on in each of its `connections`
  // connections, then the configuration locked: no statement can change a setting any more.
  static arrow::Result<std::shared_ptr<DuckDbDatabase>> Open(const DuckDbSettings& settings);
  ~DuckDbDatabase();
  DuckDbDatabase(const DuckDbDatabase&) = delete;
  DuckDbDatabase& operator=(const DuckDbDatabase&) = delete;

  // A session on a free connection; an error when all are in use. The session keeps the
  // database open.
  static arrow::Result<std::unique_ptr<DuckDbSession>> Lease(const std::shared_ptr<DuckDbDatabase>& database);

 private:
  friend class DuckDbSession;
  struct Impl;
  explicit DuckDbDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class DuckDbSession {
 public:
  ~DuckDbSession();  // puts the connection back
  DuckDbSession(const DuckDbSession&) = delete;
  DuckDbSession& operator=(const DuckDbSession&) = delete;

  // The session's set-up. Names are our own identifiers ([a-z0-9_]). Both are kept on the
  // connection for the next session, which makes them again only if they differ; the variables a
  // session does not set are reset before its query runs, so the views made for another query
  // (of the same tenant: one database serves one) read nothing.
  // SET VARIABLE name = values, bound as a VARCHAR[] parameter: paths travel as values, never as
  // SQL text. `values` has one item at least.
  arrow::Status SetVariable(const std::string& name, const std::vector<std::string>& values);
  // CREATE OR REPLACE TEMP VIEW name AS select.
  arrow::Status CreateView(const std::string& name, const std::string& select);

  // Makes `batches` (each of `schema`, none empty) readable by this session's queries as the table
  // `openwit_fresh('name')`, handed to DuckDB through the Arrow C data interface (DESIGN.md
  // "Search engine": the deprecated duckdb_arrow_scan crashes on projections). Another session
  // asking for that name gets an error: the table belongs to this connection. The session keeps
  // the batches; DuckDB reads them in place. Returns what to write in a FROM clause.
  arrow::Result<std::string> RegisterArrowTable(const std::string& name, const std::shared_ptr<arrow::Schema>& schema,
                                                std::vector<std::shared_ptr<arrow::RecordBatch>> batches);

  // Prepares the caller's SQL: exactly one statement, and a SELECT (a query); anything else is
  // refused (QueryErrorKind::kRefused) before it runs. DuckDB's errors keep their message.
  arrow::Status PrepareQuery(const std::string& sql);

  // Runs what PrepareQuery prepared, streaming: stops reading after max_rows (and says so).
  arrow::Result<QueryRows> Execute(int64_t max_rows);

  // DuckDB's counters of the query Execute ran.
  DuckDbCounters Counters();

  // Stops the running statement (its error is then QueryErrorKind::kTimeout). Any thread.
  void Interrupt();

 private:
  friend class DuckDbDatabase;
  DuckDbSession(std::shared_ptr<DuckDbDatabase> database, DuckDbConnection* connection);
  // Drops the session's fresh tables and prepared query.
  void Reset();
  arrow::Status ResetVariablesNotSet();
  std::shared_ptr<DuckDbDatabase> database_;
  DuckDbConnection* connection_;
  std::vector<std::string> set_;  // the variables this session set
};

}  // namespace openwit::search
