#include "search/query_engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <arrow/array.h>
#include <arrow/array/util.h>
#include <arrow/io/file.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <parquet/arrow/writer.h>

#include "search/database_pool.h"
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

// Whether a fresh batch holds a row in [start, end) by the time column the metastore prunes files
// by (storage/lake_file.cc); true when it has none.
bool InTimeRange(const arrow::RecordBatch& batch, const std::string& signal, std::optional<int64_t> start,
                 std::optional<int64_t> end) {
  if (!start && !end) return true;
  const auto column = batch.GetColumnByName(signal == "metrics" ? "TimeUnix" : "Timestamp");
  if (!column || column->type_id() != arrow::Type::TIMESTAMP) return true;
  const auto& times = static_cast<const arrow::TimestampArray&>(*column);
  for (int64_t i = 0; i < times.length(); ++i) {
    if (times.IsValid(i) && (!start || times.Value(i) >= *start) && (!end || times.Value(i) < *end)) return true;
  }
  return false;
}

// A fresh batch with the Hive partition columns read_parquet gives the lake's rows (tenant, signal,
// date, hour: the hour its file opened, which begins the stem "YYYY-MM-DDTHH-..." and names the
// lake folder once published), so both read alike.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> WithPartitionColumns(const FreshBatch& fresh,
                                                                        const std::string& tenant,
                                                                        const std::string& signal) {
  std::shared_ptr<arrow::Scalar> date = arrow::MakeNullScalar(arrow::date32());
  std::shared_ptr<arrow::Scalar> hour = arrow::MakeNullScalar(arrow::int32());
  int y = 0, m = 0, d = 0, h = 0;
  if (std::sscanf(fresh.stem.c_str(), "%4d-%2d-%2dT%2d", &y, &m, &d, &h) == 4) {
    const std::chrono::sys_days day{std::chrono::year(y) / m / d};
    date = std::make_shared<arrow::Date32Scalar>(static_cast<int32_t>(day.time_since_epoch().count()));
    hour = std::make_shared<arrow::Int32Scalar>(h);
  }
  const std::pair<const char*, std::shared_ptr<arrow::Scalar>> columns[] = {
      {"tenant", std::make_shared<arrow::StringScalar>(tenant)},
      {"signal", std::make_shared<arrow::StringScalar>(signal)},
      {"date", date},
      {"hour", hour},
  };
  auto batch = fresh.batch;
  for (const auto& [name, value] : columns) {
    ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*value, batch->num_rows()));
    ARROW_ASSIGN_OR_RAISE(batch, batch->AddColumn(batch->num_columns(), name, std::move(array)));
  }
  return batch;
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
  DatabasePoolOptions pool;
  pool.capacity = static_cast<size_t>(engine->options_.limits.cached_databases);
  pool.settings_of = [engine = engine.get()](const std::string& tenant) {
    const auto& limits = engine->options_.limits;
    DuckDbSettings settings{limits.threads, limits.memory_limit_mb, engine->AllowedDirectories(tenant),
                            limits.max_concurrent_queries};
    return settings;
  };
  engine->databases_ = std::make_unique<DatabasePool>(std::move(pool));
  return engine;
}

std::vector<std::string> QueryEngine::AllowedDirectories(const std::string& tenant) const {
  // The tenant's folder of the lake (or of the search cache, for a lake in an object store) and
  // the empty files: nothing of another tenant, whatever path a query writes.
  std::vector<std::string> dirs;
  const std::string kFileScheme = "file://";
  if (options_.lake_uri_root.rfind(kFileScheme, 0) == 0) {
    dirs.push_back(fmt::format("{}/tenant={}/", options_.lake_uri_root.substr(kFileScheme.size()), tenant));
  }
  if (options_.cache != nullptr) dirs.push_back(fmt::format("{}/tenant={}/", options_.cache->dir(), tenant));
  dirs.push_back(std::filesystem::absolute(options_.scratch_dir + "/empty").lexically_normal().string() + "/");
  return dirs;
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
  const auto named = TablesNamedIn(request.sql);
  // Fresh batches first, then the metastore: a file published in between is in both, and its
  // stem says so (fresh_source.h). By table, grouped by schema (one table function each).
  std::map<std::string, std::vector<std::vector<std::shared_ptr<arrow::RecordBatch>>>> fresh;
  std::map<std::string, std::set<std::string>> fresh_stems;
  if (options_.fresh != nullptr && options_.limits.freshness_seconds > 0) {
    for (const auto& table : named) {
      ARROW_ASSIGN_OR_RAISE(auto data, options_.fresh->Fetch(tenant, table.signal));
      result.stats.fresh_sources_unreachable =
          std::max(result.stats.fresh_sources_unreachable, data.sources_unreachable);
      auto& groups = fresh[table.name];
      for (const auto& batch : data.batches) {
        fresh_stems[table.name].insert(batch.stem);
        if (batch.batch->num_rows() == 0 ||
            !InTimeRange(*batch.batch, table.signal, request.start_ns, request.end_ns)) {
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(auto with_partitions, WithPartitionColumns(batch, tenant, table.signal));
        auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
          return g.front()->schema()->Equals(*with_partitions->schema());
        });
        if (group == groups.end()) group = groups.emplace(groups.end());
        group->push_back(std::move(with_partitions));
        ++result.stats.fresh_batches;
        result.stats.fresh_rows += batch.batch->num_rows();
      }
    }
  }
  std::vector<TableFiles> tables;
  for (const auto& table : named) {
    ARROW_ASSIGN_OR_RAISE(auto files, ChooseFiles(options_.metastore, options_.lake_uri_root, tenant, table,
                                                  request.start_ns, request.end_ns, fresh_stems[table.name]));
    result.stats.files_considered += files.considered;
    result.stats.files_fresh += files.fresh;
    result.stats.files_pruned += files.pruned;
    result.stats.files_read += static_cast<int64_t>(files.paths.size() + files.remote.size());
    result.stats.bytes_in_files += files.bytes;
    tables.push_back(std::move(files));
  }
  // An object-store lake: the files come through the local cache, held there until the query ends.
  std::unique_ptr<LakeCache::Pins> pinned;
  std::vector<LakeFileRef> remote;
  for (const auto& files : tables) remote.insert(remote.end(), files.remote.begin(), files.remote.end());
  if (!remote.empty()) {
    if (options_.cache == nullptr) {
      return QueryError(QueryErrorKind::kInternal,
                        fmt::format("the lake {} is not local and this engine has no cache", options_.lake_uri_root));
    }
    ARROW_ASSIGN_OR_RAISE(pinned, options_.cache->Acquire(remote));
    result.stats.files_fetched = pinned->fetched_files;
    result.stats.bytes_fetched = pinned->fetched_bytes;
    size_t next = 0;
    for (auto& files : tables) {
      for (size_t i = 0; i < files.remote.size(); ++i) files.paths.push_back(pinned->paths[next++]);
    }
  }
  for (auto& files : tables) {
    if (files.paths.empty()) {
      auto empty = empty_files_.find(files.table.signal);
      if (empty != empty_files_.end()) files.paths.push_back(empty->second);
    }
  }

  // The tenant's database (confined to its directories when it opened), on a connection of this
  // query's own: the views, variables and fresh tables below are gone when the session ends.
  ARROW_ASSIGN_OR_RAISE(auto lease, databases_->Acquire(tenant));
  result.stats.database_reused = lease.reused;
  auto& session = lease.session;
  for (const auto& files : tables) {
    std::vector<std::string> parts;
    if (!files.paths.empty()) {
      ARROW_RETURN_NOT_OK(session->SetVariable(std::string("openwit_files_") + files.table.name, files.paths));
      // Fixed text: the file list is the variable's value. hive_types: the partition columns of
      // every file have the same types, whatever their values look like.
      parts.push_back(fmt::format(
          "SELECT * FROM read_parquet(getvariable('openwit_files_{0}'), hive_partitioning = true, hive_types = "
          "{{'tenant': VARCHAR, 'signal': VARCHAR, 'date': DATE, 'hour': INTEGER}})",
          files.table.name));
    }
    auto& groups = fresh[files.table.name];
    for (size_t i = 0; i < groups.size(); ++i) {
      auto schema = groups[i].front()->schema();
      ARROW_ASSIGN_OR_RAISE(auto from, session->RegisterArrowTable(fmt::format("{}_{}", files.table.name, i), schema,
                                                                   std::move(groups[i])));
      parts.push_back("SELECT * FROM " + from);
    }
    if (parts.empty()) continue;  // no file, no schema and nothing fresh: the table stays unknown
    // By name: the lake's columns first, in their order; a column only one side has is NULL on the other.
    ARROW_RETURN_NOT_OK(
        session->CreateView(files.table.name, fmt::format("{}", fmt::join(parts, " UNION ALL BY NAME "))));
  }
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
