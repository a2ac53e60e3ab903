// What storage writes stays written through a power loss (issue #14): stable Parquet in new
// partition directories, the batch registry from its first write on, a file published to a local
// lake. The writers go through the Env seam (common/env.h); FaultEnv (fault_env.h) keeps only what
// was synced, as a machine losing power would. FaultEnv itself is tested first: a durability test
// is only as good as its simulated crash.

#include <filesystem>
#include <fstream>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "fault_env.h"
#include "storage/batch_registry.h"
#include "storage/object_store.h"
#include "storage/parquet_writer.h"

namespace openwit::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("openwit-durability-{}-{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static std::shared_ptr<arrow::RecordBatch> Rows(int n) {
    arrow::Int64Builder v;
    for (int i = 0; i < n; ++i) EXPECT_TRUE(v.Append(i).ok());
    return arrow::RecordBatch::Make(arrow::schema({arrow::field("v", arrow::int64())}), n, {v.Finish().ValueOrDie()});
  }

  static int64_t ParquetRows(const fs::path& path) {
    auto in = arrow::io::ReadableFile::Open(path.string());
    if (!in.ok()) return -1;
    auto reader = parquet::arrow::OpenFile(*in, arrow::default_memory_pool());
    if (!reader.ok()) return -1;
    auto table = (*reader)->ReadTable();
    return table.ok() ? (*table)->num_rows() : -1;
  }

  fs::path dir_;
  testing::FaultEnv env_;
};

TEST_F(DurabilityTest, FaultEnvKeepsOnlyWhatWasSynced) {
  const std::string a = (dir_ / "a").string();
  {
    auto f = env_.NewWritableFile(a, Env::OpenMode::kTruncate).ValueOrDie();
    ASSERT_TRUE(f->Append("synced").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Append(" lost").ok());
    ASSERT_TRUE(f->Close().ok());
  }
  ASSERT_TRUE(env_.SyncDir(dir_.string()).ok());
  // A new file whose directory is never synced, a rename over `a` never made durable, a new directory.
  const std::string b = (dir_ / "b").string();
  {
    auto f = env_.NewWritableFile(b, Env::OpenMode::kTruncate).ValueOrDie();
    ASSERT_TRUE(f->Append("new").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  const std::string c = (dir_ / "c").string();
  {
    auto f = env_.NewWritableFile(c, Env::OpenMode::kTruncate).ValueOrDie();
    ASSERT_TRUE(f->Append("replacement").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(env_.RenameFile(c, a).ok());
  EXPECT_EQ(Read(a), "replacement");
  fs::create_directories(dir_ / "outside");  // not through the env: not its business
  env_.PowerLoss();
  EXPECT_EQ(Read(a), "synced");
  EXPECT_FALSE(fs::exists(b));
  EXPECT_FALSE(fs::exists(c));  // created and renamed, neither durable
  EXPECT_TRUE(fs::exists(dir_ / "outside"));

  // The same, made durable: the rename's directory synced, new directories through CreateDirs.
  ASSERT_TRUE(ReplaceFileDurably(&env_, a, "second").ok());
  ASSERT_TRUE(env_.CreateDirs((dir_ / "x" / "y").string()).ok());
  env_.PowerLoss();
  EXPECT_EQ(Read(a), "second");
  EXPECT_TRUE(fs::is_directory(dir_ / "x" / "y"));

  // Injected faults.
  env_.FailSync("a");
  auto f = env_.NewWritableFile(a, Env::OpenMode::kAppend).ValueOrDie();
  EXPECT_THAT(f->Sync().message(), HasSubstr("injected"));
  env_.FailAppendWithNoSpace("a");
  EXPECT_THAT(f->Append("x").message(), HasSubstr("No space left on device"));
  EXPECT_TRUE(f->Append("y").ok());  // once
}

TEST_F(DurabilityTest, StableParquetInNewPartitionDirectoriesSurvives) {
  ParquetOptions options;
  options.env = &env_;
  const fs::path path = dir_ / "lake" / "tenant=a" / "signal=logs" / "date=2026-12-07" / "hour=21" / "f.parquet";
  ASSERT_TRUE(WriteStableParquet({Rows(100)}, Rows(1)->schema(), path.string(), options).ok());
  env_.PowerLoss();
  EXPECT_EQ(ParquetRows(path), 100);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  // A failed fsync: an error, and no file under the final name, before or after a power loss.
  const fs::path second = path.parent_path() / "g.parquet";
  env_.FailSync("g.parquet");
  auto status = WriteStableParquet({Rows(10)}, Rows(1)->schema(), second.string(), options);
  EXPECT_THAT(status.message(), HasSubstr("injected"));
  EXPECT_FALSE(fs::exists(second));
  env_.PowerLoss();
  EXPECT_FALSE(fs::exists(second));
  EXPECT_EQ(ParquetRows(path), 100);

  // A failed directory sync after the rename is an error too (it was ignored before).
  env_.FailSyncDir("hour=21");
  EXPECT_THAT(WriteStableParquet({Rows(10)}, Rows(1)->schema(), second.string(), options).message(),
              HasSubstr("injected"));
}

TEST_F(DurabilityTest, BatchRegistryIsDurableFromItsFirstWrite) {
  const std::string path = (dir_ / "registry" / "batches").string();
  ASSERT_TRUE(env_.CreateDirs(ParentDir(path)).ok());
  {
    BatchRegistry registry(/*min_compact_bytes=*/64, &env_);
    ASSERT_TRUE(registry.Open(path).ok());
    ASSERT_TRUE(registry.Persist({"wal-a:1", "wal-a:2", "other"}).ok());
  }
  env_.PowerLoss();
  {
    BatchRegistry registry(64, &env_);
    ASSERT_TRUE(registry.Open(path).ok());
    EXPECT_TRUE(registry.Contains("wal-a:1"));
    EXPECT_TRUE(registry.Contains("wal-a:2"));
    EXPECT_TRUE(registry.Contains("other"));
    // Enough appends to compact (a rename over the file): still all there after a power loss.
    for (int i = 3; i < 200; i += 2) ASSERT_TRUE(registry.Persist({fmt::format("wal-a:{}", i)}).ok());
  }
  env_.PowerLoss();
  BatchRegistry registry(64, &env_);
  ASSERT_TRUE(registry.Open(path).ok());
  for (int i = 1; i < 200; i += 2) EXPECT_TRUE(registry.Contains(fmt::format("wal-a:{}", i))) << i;
  EXPECT_TRUE(registry.Contains("wal-a:2"));
  EXPECT_FALSE(registry.Contains("wal-a:4"));
}

TEST_F(DurabilityTest, AFilePublishedToALocalLakeSurvives) {
  ObjectStoreConfig config;
  config.uri = (dir_ / "lake").string();
  auto store = ObjectStore::Open(config, &env_).ValueOrDie();
  // The stable file, as storage leaves it: written and synced in its stage directory.
  ParquetOptions options;
  options.env = &env_;
  const std::string stable = (dir_ / "stage" / "f.parquet").string();
  ASSERT_TRUE(WriteStableParquet({Rows(7)}, Rows(1)->schema(), stable, options).ok());
  const std::string key = "tenant=a/signal=logs/date=2026-12-07/hour=21/f.parquet";
  ASSERT_TRUE(store->Upload(stable, key, /*move=*/true).ok());
  env_.PowerLoss();
  EXPECT_EQ(ParquetRows(dir_ / "lake" / key), 7);
  // Copied rather than moved: the same.
  const std::string other = (dir_ / "stage" / "g.parquet").string();
  ASSERT_TRUE(WriteStableParquet({Rows(3)}, Rows(1)->schema(), other, options).ok());
  const std::string key2 = "tenant=b/signal=logs/date=2026-12-07/hour=21/g.parquet";
  ASSERT_TRUE(store->Upload(other, key2, /*move=*/false).ok());
  env_.PowerLoss();
  EXPECT_EQ(ParquetRows(dir_ / "lake" / key2), 3);
}

}  // namespace
}  // namespace openwit::storage
