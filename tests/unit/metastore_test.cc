#include "storage/metastore/metastore.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_servers.h"

namespace openwit::storage {
namespace {

LakeFile File(const std::string& uri, const std::string& tenant, int64_t min_ns, int64_t max_ns) {
  return LakeFile{uri, tenant, "logs", min_ns, max_ns, 10, 1000, "abc123", 42};
}

// The behaviour every implementation shares; each engine's test runs it.
void ExerciseMetastore(Metastore& m) {
  ASSERT_TRUE(m.AddFiles({File("s3://b/t1/a.parquet", "t1", 100, 200), File("s3://b/t1/b.parquet", "t1", 300, 400),
                          File("s3://b/t2/c.parquet", "t2", 100, 400)})
                  .ok());
  auto all = m.ListFiles();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], File("s3://b/t1/a.parquet", "t1", 100, 200));  // every field round-trips

  // Registering again (a retry, the janitor) changes nothing.
  ASSERT_TRUE(m.AddFiles({File("s3://b/t1/a.parquet", "t1", 0, 999)}).ok());
  auto t1 = m.ListFiles({.tenant = "t1"});
  ASSERT_TRUE(t1.ok());
  ASSERT_EQ(t1->size(), 2u);
  EXPECT_EQ((*t1)[0].max_time_ns, 200);

  // Time pruning: files overlapping [250, 350).
  auto overlap = m.ListFiles({.tenant = "t1", .signal = "logs", .start_ns = 250, .end_ns = 350});
  ASSERT_TRUE(overlap.ok());
  ASSERT_EQ(overlap->size(), 1u);
  EXPECT_EQ((*overlap)[0].uri, "s3://b/t1/b.parquet");
  EXPECT_TRUE(m.ListFiles({.signal = "traces"})->empty());
  EXPECT_EQ(m.ListFiles({.limit = 2})->size(), 2u);

  ASSERT_TRUE(m.RemoveFiles({"s3://b/t1/a.parquet", "s3://b/none.parquet"}).ok());
  EXPECT_EQ(m.ListFiles()->size(), 2u);
}

TEST(MetastoreTest, SqliteStoresListsAndForgetsFiles) {
  const auto dir = std::filesystem::temp_directory_path() / ("metastore-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  MetastoreConfig config;
  config.sqlite_path = (dir / "sub" / "meta.sqlite").string();
  {
    auto m = Metastore::Open(config);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ExerciseMetastore(**m);
  }
  // Reopened: what was committed is there.
  auto again = Metastore::Open(config);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ListFiles()->size(), 2u);
  std::filesystem::remove_all(dir);
}

TEST(MetastoreTest, FailedTransactionRegistersNothing) {
  const auto dir = std::filesystem::temp_directory_path() / ("metastore-tx-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  MetastoreConfig config;
  config.sqlite_path = (dir / "meta.sqlite").string();
  auto m = Metastore::Open(config);
  ASSERT_TRUE(m.ok());
  // A trigger refuses the second file of a batch: the first must not stay registered.
  ASSERT_TRUE((*m)->AddFiles({File("u1", "t", 1, 2)}).ok());
  auto db = OpenSqlite(config.sqlite_path);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)
                  ->Execute("CREATE TRIGGER refuse_u3 BEFORE INSERT ON lake_files WHEN NEW.uri = 'u3' "
                            "BEGIN SELECT RAISE(ABORT, 'refused'); END")
                  .ok());
  auto status = (*m)->AddFiles({File("u2", "t", 1, 2), File("u3", "t", 1, 2)});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("refused"), std::string::npos) << status.ToString();
  auto files = (*m)->ListFiles();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);  // u2 rolled back with u3
  EXPECT_EQ((*files)[0].uri, "u1");
  std::filesystem::remove_all(dir);
}

TEST(MetastoreTest, PostgresStoresListsAndForgetsFiles) {
  testing::TestPostgres server;
  MetastoreConfig config;
  config.type = "postgres";
  config.postgres_dsn = server.CreateDatabase("metastore_unit");
  {
    auto m = Metastore::Open(config);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ((*m)->name().rfind("postgres:", 0), 0u);
    ExerciseMetastore(**m);
  }
  auto again = Metastore::Open(config);  // the schema exists already: opening again is fine
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->ListFiles()->size(), 2u);
  // A transaction that fails half-way registers nothing, as with SQLite.
  auto db = OpenPostgres(config.postgres_dsn);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Execute("ALTER TABLE lake_files ADD CONSTRAINT no_u3 CHECK (uri <> 'u3')").ok());
  EXPECT_FALSE((*again)->AddFiles({File("u2", "t", 1, 2), File("u3", "t", 1, 2)}).ok());
  EXPECT_EQ((*again)->ListFiles()->size(), 2u);
  // The connection survives the failed transaction.
  EXPECT_TRUE((*again)->AddFiles({File("u4", "t", 1, 2)}).ok());
  EXPECT_EQ((*again)->ListFiles()->size(), 3u);
}

TEST(MetastoreTest, PostgresConnectionErrorIsClear) {
  auto db = OpenPostgres("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("cannot connect to PostgreSQL"), std::string::npos);
}

}  // namespace
}  // namespace openwit::storage
