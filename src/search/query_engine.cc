#include "search/query_engine.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <arrow/io/file.h>
#include <arrow/table.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>

#include "search/lake_tables.h"
#include "search/query_error.h"

namespace openwit::search {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

arrow::Status WriteEmptyParquet(const std::shared_ptr<arrow::Schema>& schema, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return arrow::Status::IOError("cannot create the folder of ", path, ": ", ec.message());
  ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::MakeEmpty(schema));
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out));
  return out->Close();
}

// Interrupts the session's statement once the deadline passes, unless Finish() came first.
class QueryWatchdog {
 public:
  QueryWatchdog(DuckDbSession* session, std::chrono::milliseconds timeout)
      : thread_([this, session, deadline = Clock::now() + timeout] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_until(lock, deadline, [this] { return finished_; })) {
            fired_ = true;
            session->Interrupt();
          }
        }) {}
  ~QueryWatchdog() { Finish(); }

  // True when the deadline passed (the query was interrupted).
  bool Finish() {
    {
      std::lock_guard lock(mu_);
      finished_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool fired_ = false;
  std::thread thread_;
};

}  // namespace

arrow::Result<std::unique_ptr<QueryEngine>> QueryEngine::Open(QueryEngineOptions options) {
  if (options.metastore == nullptr) return arrow::Status::Invalid("search: no metastore");
  std::unique_ptr<QueryEngine> engine(new QueryEngine(std::move(options)));
  for (const auto& [signal, schema] : engine->options_.schemas) {
    std::string path =
        // No .parquet suffix: it is no lake file, and nothing that looks for those should find it.
        fmt::format("{}/empty/tenant=_/signal={}/date=1970-01-01/hour=00/empty-table",
                    std::filesystem::absolute(engine->options_.scratch_dir).lexically_normal().string(), signal);
    ARROW_RETURN_NOT_OK(WriteEmptyParquet(schema, path));
    engine->empty_files_[signal] = path;
  }
  return engine;
}

arrow::Result<QueryResult> QueryEngine::Run(const std::string& tenant, const QueryRequest& request) {
  if (running_.fetch_add(1) >= options_.limits.max_concurrent_queries) {
    running_.fetch_sub(1);
    return QueryError(QueryErrorKind::kBusy,
                      fmt::format("{} queries are running already (search.max_concurrent_queries): try again",
                                  options_.limits.max_concurrent_queries));
  }
  auto result = RunAdmitted(tenant, request);
  running_.fetch_sub(1);
  return result;
}

arrow::Result<QueryResult> QueryEngine::RunAdmitted(const std::string& tenant, const QueryRequest& request) {
  const auto started = Clock::now();
  if (request.sql.find_first_not_of(" \t\r\n;") == std::string::npos) {
    return QueryError(QueryErrorKind::kBadQuery, "sql is empty");
  }
  if (request.start_ns && request.end_ns && *request.start_ns >= *request.end_ns) {
    return QueryError(QueryErrorKind::kBadQuery, "start must be before end");
  }
  if (request.limit < 0) return QueryError(QueryErrorKind::kBadQuery, "limit must not be negative");
  const int64_t max_rows =
      request.limit > 0 ? std::min(request.limit, options_.limits.max_result_rows) : options_.limits.max_result_rows;

  QueryResult result;
  std::vector<TableFiles> tables;
  std::vector<std::string> allowed;
  for (const auto& table : TablesNamedIn(request.sql)) {
    ARROW_ASSIGN_OR_RAISE(auto files, ChooseFiles(options_.metastore, options_.lake_uri_root, tenant, table,
                                                  request.start_ns, request.end_ns));
    result.stats.files_considered += files.considered;
    result.stats.files_pruned += files.pruned;
    result.stats.files_read += static_cast<int64_t>(files.paths.size());
    result.stats.bytes_in_files += files.bytes;
    if (files.paths.empty()) {
      auto empty = empty_files_.find(table.signal);
      if (empty != empty_files_.end()) files.paths.push_back(empty->second);
    }
    allowed.insert(allowed.end(), files.paths.begin(), files.paths.end());
    tables.push_back(std::move(files));
  }

  // A database of this query's own: allowed_paths is database-wide.
  DuckDbSettings settings{options_.limits.threads, options_.limits.memory_limit_mb};
  ARROW_ASSIGN_OR_RAISE(auto session, DuckDbSession::Open(settings));
  // No table named: no path allowed at all.
  if (!allowed.empty()) ARROW_RETURN_NOT_OK(session->Run("SET allowed_paths = $1", {allowed}));
  ARROW_RETURN_NOT_OK(session->Run("SET enable_external_access = false"));
  for (const auto& files : tables) {
    if (files.paths.empty()) continue;  // no file and no schema: the table stays unknown
    ARROW_RETURN_NOT_OK(
        session->Run(fmt::format("SET VARIABLE openwit_files_{} = $1", files.table.name), {files.paths}));
    // Fixed text: the file list is the variable's value. hive_types: the partition columns of
    // every file have the same types, whatever their values look like.
    ARROW_RETURN_NOT_OK(session->Run(fmt::format(
        "CREATE TEMP VIEW {0} AS SELECT * FROM read_parquet(getvariable('openwit_files_{0}'), "
        "hive_partitioning = true, hive_types = {{'tenant': VARCHAR, 'signal': VARCHAR, 'date': DATE, 'hour': "
        "INTEGER}})",
        files.table.name)));
  }
  ARROW_RETURN_NOT_OK(session->Run("SET enable_profiling = 'no_output'"));
  ARROW_RETURN_NOT_OK(session->Run("SET lock_configuration = true"));
  result.stats.open_ms = MsSince(started);

  QueryWatchdog watchdog(session.get(), std::chrono::milliseconds(options_.limits.query_timeout_ms));
  auto rows = [&]() -> arrow::Result<QueryRows> {
    ARROW_RETURN_NOT_OK(session->PrepareQuery(request.sql));
    return session->Execute(max_rows);
  }();
  bool timed_out = watchdog.Finish();
  if (!rows.ok()) {
    if (timed_out || QueryErrorKindOf(rows.status()) == QueryErrorKind::kTimeout) {
      return QueryError(QueryErrorKind::kTimeout, fmt::format("query stopped after {} ms (search.query_timeout_ms)",
                                                              options_.limits.query_timeout_ms));
    }
    return rows.status();
  }
  result.rows = std::move(*rows);
  auto counters = session->Counters();
  result.stats.rows_scanned = counters.rows_scanned;
  result.stats.elapsed_ms = MsSince(started);
  return result;
}

}  // namespace openwit::search
