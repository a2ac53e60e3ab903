// SqlDatabase on SQLite: the embedded default metastore, one file beside the node's data.
#include <sqlite3.h>

#include <filesystem>

#include "storage/metastore/metastore.h"

namespace openwit::storage {
namespace {

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteDatabase() override { sqlite3_close_v2(db_); }

  std::string name() const override { return "sqlite:" + path_; }

 private:
  arrow::Status Error(std::string_view what, std::string_view sql) const {
    return arrow::Status::IOError("metastore (sqlite ", path_, "): ", what, ": ", sqlite3_errmsg(db_), " [", sql, "]");
  }

  arrow::Status Run(std::string_view sql, const std::vector<std::string>& params, std::vector<Row>* rows) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      return Error("prepare", sql);
    }
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, sqlite3_finalize);
    // $1, $2, ... are named parameters to SQLite, numbered by first appearance: bind by position.
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      return arrow::Status::Invalid("metastore: ", params.size(), " parameters for ",
                                    sqlite3_bind_parameter_count(stmt), " placeholders [", sql, "]");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].data(), static_cast<int>(params[i].size()),
                            SQLITE_TRANSIENT) != SQLITE_OK) {
        return Error("bind", sql);
      }
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return arrow::Status::OK();
      if (rc != SQLITE_ROW) return Error("step", sql);
      if (!rows) continue;
      Row row(static_cast<size_t>(sqlite3_column_count(stmt)));
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        if (text) row[static_cast<size_t>(c)].assign(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
      }
      rows->push_back(std::move(row));
    }
  }

  sqlite3* db_;
  std::string path_;
};

}  // namespace

arrow::Result<std::unique_ptr<SqlDatabase>> OpenSqlite(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return arrow::Status::IOError("metastore: cannot create ", parent.string(), ": ", ec.message());
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return arrow::Status::IOError("metastore: cannot open sqlite ", path, ": ", message);
  }
  auto database = std::make_unique<SqliteDatabase>(db, path);
  // Storage and janitor may be separate processes on one file: wait for each other's locks;
  // WAL journaling lets readers go on while one writes; FULL sync so a registered file stays so.
  sqlite3_busy_timeout(db, 10000);
  ARROW_RETURN_NOT_OK(database->Execute("PRAGMA journal_mode=WAL", {}));
  ARROW_RETURN_NOT_OK(database->Execute("PRAGMA synchronous=FULL", {}));
  return database;
}

}  // namespace openwit::storage
