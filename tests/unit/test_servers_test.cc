// Proves the real peers of tests/unit/test_servers.h answer: PostgreSQL through libpq, MinIO through
// Arrow's S3FileSystem.
#include "test_servers.h"

#include <memory>
#include <string>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

namespace openwit::testing {
namespace {

using PgConn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

PgResult Exec(PGconn* conn, const std::string& sql) { return PgResult(PQexec(conn, sql.c_str()), &PQclear); }

TEST(TestServers, PostgresAnswersSql) {
  TestPostgres pg;
  EXPECT_EQ(pg.host(), "127.0.0.1");
  EXPECT_GT(pg.port(), 0);

  PgConn conn(PQconnectdb(pg.dsn().c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  auto one = Exec(conn.get(), "SELECT 1");
  ASSERT_EQ(PQresultStatus(one.get()), PGRES_TUPLES_OK) << PQerrorMessage(conn.get());
  EXPECT_STREQ(PQgetvalue(one.get(), 0, 0), "1");

  // A fresh database per caller.
  std::string dsn = pg.CreateDatabase("lake_catalog");
  PgConn db(PQconnectdb(dsn.c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(db.get()), CONNECTION_OK) << PQerrorMessage(db.get());
  EXPECT_STREQ(PQdb(db.get()), "lake_catalog");
  auto created = Exec(db.get(), "CREATE TABLE files (path text PRIMARY KEY, bytes bigint NOT NULL)");
  ASSERT_EQ(PQresultStatus(created.get()), PGRES_COMMAND_OK) << PQerrorMessage(db.get());
  auto inserted = Exec(db.get(), "INSERT INTO files VALUES ('a.parquet', 10), ('b.parquet', 32)");
  ASSERT_EQ(PQresultStatus(inserted.get()), PGRES_COMMAND_OK) << PQerrorMessage(db.get());
  EXPECT_STREQ(PQcmdTuples(inserted.get()), "2");
  auto rows = Exec(db.get(), "SELECT count(*), sum(bytes) FROM files");
  ASSERT_EQ(PQresultStatus(rows.get()), PGRES_TUPLES_OK) << PQerrorMessage(db.get());
  EXPECT_STREQ(PQgetvalue(rows.get(), 0, 0), "2");
  EXPECT_STREQ(PQgetvalue(rows.get(), 0, 1), "42");
}

TEST(TestServers, PostgresStopsAndCleansUp) {
  std::filesystem::path dir;
  std::string dsn;
  {
    TestPostgres pg;
    dir = pg.dir();
    dsn = pg.dsn();
    EXPECT_TRUE(std::filesystem::exists(dir / "data" / "PG_VERSION"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(PQping((dsn + " connect_timeout=1").c_str()), PQPING_NO_RESPONSE);
}

TEST(TestServers, MinioStoresAndListsObjects) {
  TestMinio minio;
  EXPECT_EQ(minio.endpoint(), "127.0.0.1:" + std::to_string(minio.port()));
  minio.CreateBucket("lake");

  auto s3 = minio.filesystem();
  const std::string payload = "hello from openwit";
  {
    auto out = s3->OpenOutputStream("lake/tenant=acme/part-0.txt");
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_TRUE((*out)->Write(payload).ok());
    ASSERT_TRUE((*out)->Close().ok());
  }
  auto in = s3->OpenInputFile("lake/tenant=acme/part-0.txt");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  auto size = (*in)->GetSize();
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, static_cast<int64_t>(payload.size()));
  auto data = (*in)->ReadAt(0, *size);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ((*data)->ToString(), payload);

  arrow::fs::FileSelector sel;
  sel.base_dir = "lake";
  sel.recursive = true;
  auto infos = s3->GetFileInfo(sel);
  ASSERT_TRUE(infos.ok()) << infos.status().ToString();
  bool found = false;
  for (const auto& info : *infos) {
    if (info.path() == "lake/tenant=acme/part-0.txt") {
      found = true;
      EXPECT_EQ(info.type(), arrow::fs::FileType::File);
      EXPECT_EQ(info.size(), static_cast<int64_t>(payload.size()));
    }
  }
  EXPECT_TRUE(found) << "object not listed under lake/";
}

TEST(TestServers, MinioStopsAndCleansUp) {
  std::filesystem::path dir;
  {
    TestMinio minio;
    dir = minio.dir();
    EXPECT_TRUE(std::filesystem::exists(dir / "data"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace openwit::testing
