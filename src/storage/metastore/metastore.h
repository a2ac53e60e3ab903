#pragma once
// The metastore (DESIGN.md "The seams between stages"): which stable Parquet files the lake holds,
// for whom, over which time range. Storage registers a file only after its upload is verified, so
// a file in the metastore is always readable; the janitor registers files an upload left behind
// (upload done, metadata write failed) and removes expired ones. Two implementations share this
// code: SQLite (embedded default) and PostgreSQL (distributed), behind SqlDatabase.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "common/config.h"

namespace openwit::storage {

// One stable Parquet file of the lake.
struct LakeFile {
  std::string uri;  // full object-store URI: file:///abs/path/x.parquet, s3://bucket/prefix/x.parquet
  std::string tenant;
  std::string signal;       // logs, traces, metrics
  int64_t min_time_ns = 0;  // of the Timestamp column (TimeUnix for metrics)
  int64_t max_time_ns = 0;
  int64_t row_count = 0;
  int64_t size_bytes = 0;
  std::string schema_fingerprint;  // hex hash of the Arrow schema
  int64_t created_at_ns = 0;       // when it was registered

  bool operator==(const LakeFile&) const = default;
};

struct LakeFileQuery {
  std::optional<std::string> tenant = std::nullopt;
  std::optional<std::string> signal = std::nullopt;
  std::optional<int64_t> start_ns = std::nullopt;  // files with max_time_ns >= start_ns
  std::optional<int64_t> end_ns = std::nullopt;    // files with min_time_ns < end_ns
  int64_t limit = 0;                               // 0: all
};

// The two SQL engines, reduced to what the metastore needs. Parameters are written $1, $2, ... in
// the order they appear (PostgreSQL's numbering; SQLite binds the same names by position), all
// passed as text; the engine converts them to the column's type. Rows come back as text.
class SqlDatabase {
 public:
  using Row = std::vector<std::string>;
  virtual ~SqlDatabase() = default;
  arrow::Status Execute(std::string_view sql, const std::vector<std::string>& params = {}) {
    return Run(sql, params, nullptr);
  }
  arrow::Result<std::vector<Row>> Query(std::string_view sql, const std::vector<std::string>& params = {}) {
    std::vector<Row> rows;
    ARROW_RETURN_NOT_OK(Run(sql, params, &rows));
    return rows;
  }
  virtual std::string name() const = 0;

 protected:
  // Runs one statement; its rows go to `rows` when given.
  virtual arrow::Status Run(std::string_view sql, const std::vector<std::string>& params, std::vector<Row>* rows) = 0;
};

arrow::Result<std::unique_ptr<SqlDatabase>> OpenSqlite(const std::string& path);
arrow::Result<std::unique_ptr<SqlDatabase>> OpenPostgres(const std::string& dsn);

class Metastore {
 public:
  // Opens the database of `config` and creates the schema when missing.
  static arrow::Result<std::unique_ptr<Metastore>> Open(const MetastoreConfig& config);
  static arrow::Result<std::unique_ptr<Metastore>> Open(std::unique_ptr<SqlDatabase> db);

  // Registers files in one transaction: all become visible together or none. A URI already
  // registered is left as it is (registering twice is harmless: retries, the janitor).
  arrow::Status AddFiles(const std::vector<LakeFile>& files);
  arrow::Result<std::vector<LakeFile>> ListFiles(const LakeFileQuery& query = {});
  // Forgets files in one transaction (retention: forget first, delete the objects after).
  arrow::Status RemoveFiles(const std::vector<std::string>& uris);
  std::string name() const { return db_->name(); }

 private:
  explicit Metastore(std::unique_ptr<SqlDatabase> db) : db_(std::move(db)) {}
  arrow::Status InTransaction(const std::function<arrow::Status()>& body);

  std::mutex mu_;  // one connection, one statement at a time
  std::unique_ptr<SqlDatabase> db_;
};

}  // namespace openwit::storage
