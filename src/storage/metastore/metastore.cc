#include "storage/metastore/metastore.h"

#include <charconv>

#include <fmt/format.h>

namespace openwit::storage {
namespace {

// Both dialects accept this DDL as it is.
constexpr std::string_view kSchema[] = {
    "CREATE TABLE IF NOT EXISTS lake_files ("
    " uri TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL,"
    " signal TEXT NOT NULL,"
    " min_time_ns BIGINT NOT NULL,"
    " max_time_ns BIGINT NOT NULL,"
    " row_count BIGINT NOT NULL,"
    " size_bytes BIGINT NOT NULL,"
    " schema_fingerprint TEXT NOT NULL,"
    " created_at_ns BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lake_files_by_time ON lake_files (tenant, signal, max_time_ns)",
};

constexpr std::string_view kColumns =
    "uri, tenant, signal, min_time_ns, max_time_ns, row_count, size_bytes, schema_fingerprint, created_at_ns";

arrow::Result<int64_t> ParseInt(const std::string& text, std::string_view column) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return arrow::Status::IOError("metastore: column ", column, " holds \"", text, "\", not an integer");
  }
  return value;
}

}  // namespace

arrow::Result<std::unique_ptr<Metastore>> Metastore::Open(const MetastoreConfig& config) {
  std::unique_ptr<SqlDatabase> db;
  if (config.type == "postgres") {
    if (config.postgres_dsn.empty()) return arrow::Status::Invalid("metastore.postgres_dsn is empty (type postgres)");
    ARROW_ASSIGN_OR_RAISE(db, OpenPostgres(config.postgres_dsn));
  } else {
    ARROW_ASSIGN_OR_RAISE(db, OpenSqlite(config.sqlite_path));
  }
  return Open(std::move(db));
}

arrow::Result<std::unique_ptr<Metastore>> Metastore::Open(std::unique_ptr<SqlDatabase> db) {
  std::unique_ptr<Metastore> m(new Metastore(std::move(db)));
  for (auto ddl : kSchema) ARROW_RETURN_NOT_OK(m->db_->Execute(ddl));
  return m;
}

arrow::Status Metastore::InTransaction(const std::function<arrow::Status()>& body) {
  std::lock_guard lock(mu_);
  ARROW_RETURN_NOT_OK(db_->Execute("BEGIN"));
  auto status = body();
  if (status.ok()) status = db_->Execute("COMMIT");
  if (!status.ok()) (void)db_->Execute("ROLLBACK");
  return status;
}

arrow::Status Metastore::AddFiles(const std::vector<LakeFile>& files) {
  if (files.empty()) return arrow::Status::OK();
  const std::string sql = fmt::format(
      "INSERT INTO lake_files ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (uri) DO NOTHING", kColumns);
  return InTransaction([&]() -> arrow::Status {
    for (const auto& f : files) {
      ARROW_RETURN_NOT_OK(
          db_->Execute(sql, {f.uri, f.tenant, f.signal, std::to_string(f.min_time_ns), std::to_string(f.max_time_ns),
                             std::to_string(f.row_count), std::to_string(f.size_bytes), f.schema_fingerprint,
                             std::to_string(f.created_at_ns)}));
    }
    return arrow::Status::OK();
  });
}

arrow::Result<std::vector<LakeFile>> Metastore::ListFiles(const LakeFileQuery& query) {
  std::string where;
  std::vector<std::string> params;
  auto add = [&](std::string_view condition, std::string value) {
    params.push_back(std::move(value));
    where += fmt::format("{}{} ${}", where.empty() ? " WHERE " : " AND ", condition, params.size());
  };
  if (query.tenant) add("tenant =", *query.tenant);
  if (query.signal) add("signal =", *query.signal);
  if (query.start_ns) add("max_time_ns >=", std::to_string(*query.start_ns));
  if (query.end_ns) add("min_time_ns <", std::to_string(*query.end_ns));
  std::string sql = fmt::format("SELECT {} FROM lake_files{} ORDER BY min_time_ns, uri", kColumns, where);
  if (query.limit > 0) sql += fmt::format(" LIMIT {}", query.limit);
  std::vector<SqlDatabase::Row> rows;
  {
    std::lock_guard lock(mu_);
    ARROW_ASSIGN_OR_RAISE(rows, db_->Query(sql, params));
  }
  std::vector<LakeFile> files;
  files.reserve(rows.size());
  for (auto& row : rows) {
    if (row.size() != 9) return arrow::Status::IOError("metastore: lake_files row of ", row.size(), " columns");
    LakeFile f;
    f.uri = std::move(row[0]);
    f.tenant = std::move(row[1]);
    f.signal = std::move(row[2]);
    ARROW_ASSIGN_OR_RAISE(f.min_time_ns, ParseInt(row[3], "min_time_ns"));
    ARROW_ASSIGN_OR_RAISE(f.max_time_ns, ParseInt(row[4], "max_time_ns"));
    ARROW_ASSIGN_OR_RAISE(f.row_count, ParseInt(row[5], "row_count"));
    ARROW_ASSIGN_OR_RAISE(f.size_bytes, ParseInt(row[6], "size_bytes"));
    f.schema_fingerprint = std::move(row[7]);
    ARROW_ASSIGN_OR_RAISE(f.created_at_ns, ParseInt(row[8], "created_at_ns"));
    files.push_back(std::move(f));
  }
  return files;
}

arrow::Status Metastore::RemoveFiles(const std::vector<std::string>& uris) {
  if (uris.empty()) return arrow::Status::OK();
  return InTransaction([&]() -> arrow::Status {
    for (const auto& uri : uris) ARROW_RETURN_NOT_OK(db_->Execute("DELETE FROM lake_files WHERE uri = $1", {uri}));
    return arrow::Status::OK();
  });
}

}  // namespace openwit::storage
