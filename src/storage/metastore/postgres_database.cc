// SqlDatabase on PostgreSQL (libpq): the metastore shared by a cluster's nodes.
#include <libpq-fe.h>

#include "storage/metastore/metastore.h"

namespace openwit::storage {
namespace {

class PostgresDatabase final : public SqlDatabase {
 public:
  PostgresDatabase(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  ~PostgresDatabase() override { PQfinish(conn_); }

  std::string name() const override { return "postgres:" + where_; }

 private:
  arrow::Status Run(std::string_view sql, const std::vector<std::string>& params, std::vector<Row>* rows) override {
    // A connection the server dropped (restart, failover) is reopened once, outside a transaction.
    if (PQstatus(conn_) != CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_INTRANS) PQreset(conn_);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    const std::string text(sql);
    PGresult* result =
        PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr, nullptr, 0);
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(result, PQclear);
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      return arrow::Status::IOError("metastore (postgres ", where_, "): ", message, " [", sql, "]");
    }
    if (rows) {
      const int n = PQntuples(result);
      const int columns = PQnfields(result);
      rows->reserve(static_cast<size_t>(n));
      for (int r = 0; r < n; ++r) {
        Row row(static_cast<size_t>(columns));
        for (int c = 0; c < columns; ++c) {
          if (!PQgetisnull(result, r, c)) {
            row[static_cast<size_t>(c)].assign(PQgetvalue(result, r, c),
                                               static_cast<size_t>(PQgetlength(result, r, c)));
          }
        }
        rows->push_back(std::move(row));
      }
    }
    return arrow::Status::OK();
  }

  PGconn* conn_;
  std::string where_;
};

}  // namespace

arrow::Result<std::unique_ptr<SqlDatabase>> OpenPostgres(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    // The DSN may hold a password: name the server, not the DSN.
    return arrow::Status::IOError("metastore: cannot connect to PostgreSQL: ", message);
  }
  std::string where = std::string(PQhost(conn) ? PQhost(conn) : "") + ":" + (PQport(conn) ? PQport(conn) : "") + "/" +
                      (PQdb(conn) ? PQdb(conn) : "");
  // Notices (e.g. "relation already exists, skipping") are not ours to print.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::make_unique<PostgresDatabase>(conn, std::move(where));
}

}  // namespace openwit::storage
