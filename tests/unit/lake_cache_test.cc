// Search over a lake in an object store (MinIO, a real S3 server): the files a query needs are
// fetched once into the bounded local cache (search/lake_cache.h), a repeated query fetches
// nothing, the bound holds, and a restart keeps what was fetched.

#include <filesystem>
#include <fstream>
#include <thread>

#include <arrow/api.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "search/lake_cache.h"
#include "search/query_engine.h"
#include "search/query_error.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"
#include "storage/parquet_writer.h"
#include "test_servers.h"

namespace openwit::search {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000LL * 1000000000;  // 2023-11-14T22:13:20Z
constexpr int64_t kHour = 3600LL * 1000000000;

std::shared_ptr<arrow::Schema> LogsSchema() {
  return arrow::schema(
      {arrow::field("Timestamp", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")), arrow::field("Body", arrow::utf8())});
}

class LakeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("openwit-lake-cache-{}-{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    minio_ = std::make_unique<testing::TestMinio>();
    minio_->CreateBucket("lake");
    ObjectStoreConfig config;
    config.uri = "s3://lake/otel";
    config.endpoint_override = minio_->endpoint();
    config.access_key_id = minio_->access_key();
    config.secret_access_key = minio_->secret_key();
    store_ = storage::ObjectStore::Open(config).ValueOrDie();
    MetastoreConfig meta;
    meta.sqlite_path = (dir_ / "metastore.sqlite").string();
    metastore_ = storage::Metastore::Open(meta).ValueOrDie();
    // Tenant a: three files, an hour apart; tenant b: one.
    for (int i = 0; i < 3; ++i) AddFile("a", kT0 + i * kHour, 100 + i);
    AddFile("b", kT0, 1000);
  }

  void TearDown() override {
    engine_.reset();
    cache_.reset();
    metastore_.reset();
    minio_.reset();
    fs::remove_all(dir_);
  }

  // A lake file of `rows` records in the object store, registered in the metastore.
  void AddFile(const std::string& tenant, int64_t t, int rows) {
    arrow::TimestampBuilder ts(LogsSchema()->field(0)->type(), arrow::default_memory_pool());
    arrow::StringBuilder body;
    for (int i = 0; i < rows; ++i) {
      ASSERT_TRUE(ts.Append(t + i).ok());
      ASSERT_TRUE(body.Append(fmt::format("{} record {}", tenant, i)).ok());
    }
    auto batch = arrow::RecordBatch::Make(LogsSchema(), rows, {ts.Finish().ValueOrDie(), body.Finish().ValueOrDie()});
    const std::string key =
        fmt::format("tenant={}/signal=logs/date=2023-11-14/hour=22/{}-{}.parquet", tenant, tenant, files_++);
    const std::string local = (dir_ / "upload.parquet").string();
    ASSERT_TRUE(storage::WriteStableParquet({batch}, batch->schema(), local).ok());
    ASSERT_TRUE(store_->Upload(local, key, false).ok());
    storage::LakeFile file;
    file.uri = store_->Uri(key);
    file.tenant = tenant;
    file.signal = "logs";
    file.min_time_ns = t;
    file.max_time_ns = t + rows;
    file.row_count = rows;
    file.size_bytes = static_cast<int64_t>(fs::file_size(local));
    file.created_at_ns = 1;
    ASSERT_TRUE(metastore_->AddFiles({file}).ok());
    if (tenant == "a") file_bytes_ = std::max(file_bytes_, file.size_bytes);
  }

  QueryEngine& Engine(int64_t cache_bytes) {
    engine_.reset();
    cache_.reset();
    LakeCacheOptions cache;
    cache.store = store_.get();
    cache.dir = (dir_ / "cache").string();
    cache.max_bytes = cache_bytes;
    cache_ = LakeCache::Open(std::move(cache)).ValueOrDie();
    QueryEngineOptions options;
    options.metastore = metastore_.get();
    options.lake_uri_root = store_->uri_root();
    options.schemas["logs"] = LogsSchema();
    options.scratch_dir = (dir_ / "scratch").string();
    options.cache = cache_.get();
    engine_ = QueryEngine::Open(std::move(options)).ValueOrDie();
    return *engine_;
  }

  // count(*) of the tenant's logs in [start, end), and the stats.
  std::pair<int64_t, QueryStats> Count(const std::string& tenant, std::optional<int64_t> start = std::nullopt,
                                       std::optional<int64_t> end = std::nullopt) {
    QueryRequest request;
    request.sql = "SELECT count(*) FROM logs";
    request.start_ns = start;
    request.end_ns = end;
    auto r = engine_->Run(tenant, request);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {-1, {}};
    return {std::static_pointer_cast<arrow::Int64Array>(r->rows.batches.at(0)->column(0))->Value(0), r->stats};
  }

  fs::path dir_;
  std::unique_ptr<testing::TestMinio> minio_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<storage::Metastore> metastore_;
  std::unique_ptr<LakeCache> cache_;
  std::unique_ptr<QueryEngine> engine_;
  int files_ = 0;
  int64_t file_bytes_ = 0;  // of tenant a's largest file
};

TEST_F(LakeCacheTest, FilesAreFetchedOnceAndReadLocally) {
  Engine(1ll << 30);
  auto [n, stats] = Count("a");
  EXPECT_EQ(n, 303);
  EXPECT_EQ(stats.files_read, 3);
  EXPECT_EQ(stats.files_fetched, 3);
  EXPECT_GT(stats.bytes_fetched, 0);
  // Again: nothing fetched, the same answer.
  auto [again, stats2] = Count("a");
  EXPECT_EQ(again, 303);
  EXPECT_EQ(stats2.files_fetched, 0);
  EXPECT_EQ(stats2.bytes_fetched, 0);
  // Tenant b reads its own file only.
  auto [b, stats_b] = Count("b");
  EXPECT_EQ(b, 1000);
  EXPECT_EQ(stats_b.files_fetched, 1);
  EXPECT_EQ(cache_->bytes(), stats.bytes_fetched + stats_b.bytes_fetched);

  // A restart keeps what was fetched; a half-fetched leftover is removed.
  std::ofstream(dir_ / "cache" / "tenant=a" / "signal=logs" / "leftover.parquet.fetching") << "partial";
  Engine(1ll << 30);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / "tenant=a" / "signal=logs" / "leftover.parquet.fetching"));
  auto [after, stats3] = Count("a");
  EXPECT_EQ(after, 303);
  EXPECT_EQ(stats3.files_fetched, 0);

  // A cached copy of the wrong size (cut short) is fetched again.
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "cache" / "tenant=b")) {
    if (entry.is_regular_file()) fs::resize_file(entry.path(), 10);
  }
  Engine(1ll << 30);
  auto [b2, stats_b2] = Count("b");
  EXPECT_EQ(b2, 1000);
  EXPECT_EQ(stats_b2.files_fetched, 1);
}

TEST_F(LakeCacheTest, TheBoundHolds) {
  // Room for two files: a query over three fails clearly, one over two works, and the least
  // recently used file makes room for the next.
  Engine(2 * file_bytes_ + 16);
  QueryRequest all;
  all.sql = "SELECT count(*) FROM logs";
  auto refused = engine_->Run("a", all);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(QueryErrorKindOf(refused.status()), QueryErrorKind::kMemoryLimit);
  EXPECT_THAT(refused.status().message(), HasSubstr("search.cache_max_mb"));
  EXPECT_EQ(cache_->bytes(), 0);  // nothing left behind by the refused query

  EXPECT_EQ(Count("a", kT0, kT0 + 2 * kHour).first, 201);  // the first two files
  EXPECT_LE(cache_->bytes(), 2 * file_bytes_ + 16);
  auto [third, stats] = Count("a", kT0 + 2 * kHour, std::nullopt);
  EXPECT_EQ(third, 102);
  EXPECT_EQ(stats.files_fetched, 1);
  EXPECT_LE(cache_->bytes(), 2 * file_bytes_ + 16);
  // The second file was used after the first: the first went, the second stayed.
  EXPECT_EQ(Count("a", kT0 + kHour, kT0 + 2 * kHour).second.files_fetched, 0);
  EXPECT_EQ(Count("a", kT0, kT0 + kHour).second.files_fetched, 1);
}

TEST_F(LakeCacheTest, QueriesAtOnceFetchAFileOnce) {
  Engine(1ll << 30);
  std::vector<QueryStats> stats(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      QueryRequest request;
      request.sql = "SELECT count(*) FROM logs";
      auto r = engine_->Run("a", request);
      ASSERT_TRUE(r.ok()) << r.status();
      stats[i] = r->stats;
    });
  }
  for (auto& t : threads) t.join();
  int64_t fetched = 0;
  for (const auto& s : stats) fetched += s.files_fetched;
  EXPECT_EQ(fetched, 3);
}

TEST_F(LakeCacheTest, AnObjectStoreLakeWithoutACacheIsAClearError) {
  QueryEngineOptions options;
  options.metastore = metastore_.get();
  options.lake_uri_root = store_->uri_root();
  options.schemas["logs"] = LogsSchema();
  options.scratch_dir = (dir_ / "scratch").string();
  auto engine = QueryEngine::Open(std::move(options)).ValueOrDie();
  QueryRequest request;
  request.sql = "SELECT count(*) FROM logs";
  auto r = engine->Run("a", request);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("s3://lake/otel is not local and this engine has no cache"));
}

}  // namespace
}  // namespace openwit::search
