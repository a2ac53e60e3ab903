// Storage node pieces and the ingest side's Flight sender, against a real Flight server.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include <arrow/api.h>
#include <arrow/flight/client.h>
#include <arrow/io/file.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "fault_env.h"
#include "ingest/flight_sender.h"
#include "search/storage_fresh_source.h"
#include "storage/active_file.h"
#include "storage/batch_registry.h"
#include "storage/flight_server.h"
#include "storage/janitor.h"
#include "storage/lake_file.h"
#include "storage/parquet_writer.h"
#include "test_lake.h"
#include "test_servers.h"

namespace openwit::storage {
namespace {

namespace fs = std::filesystem;
using ingest::StoragePut;
using ::testing::HasSubstr;

std::shared_ptr<arrow::RecordBatch> Rows(int64_t first, int64_t n) {
  arrow::Int64Builder values;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(values.Append(first + i).ok());
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("v", arrow::int64())}), n,
                                  {values.Finish().ValueOrDie()});
}

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openwit-storage-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.local_dir = (dir_ / "storage").string();
    lake_ = TestLake::Open(dir_, &options_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<StorageServer> StartServer() {
    auto server = StorageServer::Start(options_, "127.0.0.1", 0);
    EXPECT_TRUE(server.ok()) << server.status();
    return std::move(*server);
  }
  std::vector<StoragePut> Puts(const std::string& prefix, int first, int count) {
    std::vector<StoragePut> puts;
    for (int i = first; i < first + count; ++i) {
      StoragePut p;
      p.wal_sequence = static_cast<uint64_t>(i);
      p.batch_id = prefix + ":" + std::to_string(i);
      p.tenant = "acme";
      p.signal = ingest::v1::SIGNAL_LOGS;
      p.batch = Rows(i * 1000, 100);
      p.records = 100;
      puts.push_back(std::move(p));
    }
    return puts;
  }
  static std::vector<size_t> Send(ingest::FlightSender& sender, const std::vector<StoragePut>& puts,
                                  arrow::Status* status = nullptr) {
    std::vector<const StoragePut*> ptrs;
    for (const auto& p : puts) ptrs.push_back(&p);
    std::vector<size_t> confirmed;
    auto s = sender.Put(ptrs, [&](size_t i) { confirmed.push_back(i); });
    if (status)
      *status = s;
    else
      EXPECT_TRUE(s.ok()) << s;
    return confirmed;
  }
  // Every row of every Parquet file in the lake.
  std::vector<int64_t> LakeRows() {
    std::vector<int64_t> rows;
    if (!fs::exists(lake_.dir)) return rows;
    for (const auto& f : fs::recursive_directory_iterator(lake_.dir)) {
      if (f.path().extension() != ".parquet") continue;
      auto in = arrow::io::ReadableFile::Open(f.path().string()).ValueOrDie();
      auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool()).ValueOrDie();
      auto table = reader->ReadTable().ValueOrDie();
      for (const auto& chunk : table->GetColumnByName("v")->chunks()) {
        auto values = std::static_pointer_cast<arrow::Int64Array>(chunk);
        for (int64_t i = 0; i < values->length(); ++i) rows.push_back(values->Value(i));
      }
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }
  fs::path dir_;
  StorageOptions options_;
  TestLake lake_;
};

TEST(BatchRegistryTest, RangesMergeAndSurviveReopen) {
  auto path = fs::temp_directory_path() / ("openwit-registry-" + std::to_string(::getpid()));
  fs::remove(path);
  {
    BatchRegistry registry;
    ASSERT_TRUE(registry.Open(path.string()).ok());
    for (int i : {1, 2, 3, 5, 4, 10}) registry.Add("node-1:abc:" + std::to_string(i));
    EXPECT_EQ(registry.ranges(), 2u);  // 1-5 and 10
    EXPECT_TRUE(registry.Contains("node-1:abc:4"));
    EXPECT_FALSE(registry.Contains("node-1:abc:6"));
    EXPECT_FALSE(registry.Contains("node-1:other:4"));
    ASSERT_TRUE(registry.Persist({"node-1:abc:6", "node-1:abc:7", "free-form-id"}).ok());
  }
  BatchRegistry reopened;
  ASSERT_TRUE(reopened.Open(path.string()).ok());
  EXPECT_TRUE(reopened.Contains("node-1:abc:7"));
  EXPECT_TRUE(reopened.Contains("free-form-id"));
  EXPECT_FALSE(reopened.Contains("node-1:abc:3"));  // only persisted ids outlive the process
  fs::remove(path);
}

TEST(BatchRegistryTest, TheFileGrowsWithRangesNotWithBatches) {
  auto path = fs::temp_directory_path() / ("openwit-registry-size-" + std::to_string(::getpid()));
  fs::remove(path);
  {
    // 100 rotations of 500 contiguous batch ids each: a line per rotation, not per id.
    BatchRegistry registry;
    ASSERT_TRUE(registry.Open(path.string()).ok());
    for (int rotation = 0; rotation < 100; ++rotation) {
      std::vector<std::string> ids;
      for (int i = 0; i < 500; ++i) ids.push_back("node-1:w:" + std::to_string(rotation * 500 + i));
      ASSERT_TRUE(registry.Persist(ids).ok());
    }
    EXPECT_LT(fs::file_size(path), 100u * 32);
  }
  {
    // Ids persisted one at a time: the file is compacted as it grows, to the one range they make.
    BatchRegistry registry(/*min_compact_bytes=*/1024);
    ASSERT_TRUE(registry.Open(path.string()).ok());
    for (int i = 50000; i < 50300; ++i) {
      ASSERT_TRUE(registry.Persist({"node-1:w:" + std::to_string(i)}).ok());
      ASSERT_LE(fs::file_size(path), 1024u + 64) << i;
      ASSERT_EQ(fs::file_size(path), registry.file_bytes());
    }
  }
  BatchRegistry reopened;
  ASSERT_TRUE(reopened.Open(path.string()).ok());
  EXPECT_EQ(reopened.ranges(), 1u);
  for (int i : {0, 499, 31234, 49999, 50299}) EXPECT_TRUE(reopened.Contains("node-1:w:" + std::to_string(i))) << i;
  EXPECT_FALSE(reopened.Contains("node-1:w:50300"));
  fs::remove(path);
}

TEST_F(StorageTest, ConfirmsDurableBatchesAndStoresAReplayOnce) {
  auto server = StartServer();
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  auto puts = Puts("ingest-1:w1", 1, 5);
  EXPECT_EQ(Send(sender, puts).size(), 5u);
  // A replay of the same batches (a lost release): confirmed again, stored once.
  EXPECT_EQ(Send(sender, puts).size(), 5u);
  ASSERT_TRUE(server->RotateAll().ok());
  auto rows = LakeRows();
  EXPECT_EQ(rows.size(), 500u);
  EXPECT_EQ(std::adjacent_find(rows.begin(), rows.end()), rows.end());  // no row twice
  // Still remembered after a restart, from the registry file.
  server.reset();
  server = StartServer();
  ingest::FlightSender again(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(again, puts).size(), 5u);
  server->Stop();
  EXPECT_EQ(LakeRows().size(), 500u);
  // Hive partitioning by tenant, signal, date, hour.
  bool partitioned = false;
  for (const auto& f : fs::recursive_directory_iterator(lake_.dir)) {
    if (f.path().extension() == ".parquet") {
      EXPECT_THAT(f.path().string(), HasSubstr("/tenant=acme/signal=logs/date="));
      EXPECT_THAT(f.path().string(), HasSubstr("/hour="));
      partitioned = true;
    }
  }
  EXPECT_TRUE(partitioned);
}

TEST_F(StorageTest, ActiveFileReadLeavesOutABatchWhoseBuffersDoNotHoldTogether) {
  // A string column whose offsets point past its data: whole as an IPC message, so the stream
  // reader returns it, but the Parquet writer would read out of bounds (tests/fuzz/active_file).
  auto schema = arrow::schema({arrow::field("s", arrow::utf8())});
  arrow::StringBuilder strings;
  ASSERT_TRUE(strings.Append("ok").ok());
  auto good = arrow::RecordBatch::Make(schema, 1, {strings.Finish().ValueOrDie()});
  const int32_t offsets[] = {0, 592};
  auto bad_strings =
      std::make_shared<arrow::StringArray>(1, arrow::Buffer::Wrap(offsets, 2), arrow::Buffer::FromString("abc"));
  auto bad = arrow::RecordBatch::Make(schema, 1, {bad_strings});
  const std::string path = (dir_ / "damaged.arrows").string();
  fs::create_directories(dir_);
  {
    auto file = ActiveFile::Create(path, schema).ValueOrDie();
    ASSERT_TRUE(file->Append(*good, "b:1").ok());
    ASSERT_TRUE(file->Append(*bad, "b:2").ok());
    ASSERT_TRUE(file->Append(*good, "b:3").ok());
    ASSERT_TRUE(file->Close().ok());
  }
  auto contents = ActiveFile::Read(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->batch_ids, (std::vector<std::string>{"b:1", "b:3"}));
  EXPECT_EQ(contents->malformed, 1);
  EXPECT_THAT(contents->first_malformed, HasSubstr("offset"));
  EXPECT_FALSE(contents->torn);
}

TEST_F(StorageTest, ActiveFileReadLeavesOutABatchWithMoreRowsThanItsBuffersHoldBits) {
  // Columns that take no memory per row (here null-typed; no column at all does the same) pass
  // ValidateFull whatever the length says: a damaged length of 2^56 made the Parquet writer plan
  // 2^36 row groups and run out of memory (tests/fuzz/active_file). Arrow's IPC writer takes at most
  // 2^31 - 1 rows, which is as far from what 0 bytes can hold.
  auto schema = arrow::schema({arrow::field("n", arrow::null())});
  auto batch = [&](int64_t rows) {
    return arrow::RecordBatch::Make(schema, rows, {std::make_shared<arrow::NullArray>(rows)});
  };
  const std::string path = (dir_ / "huge.arrows").string();
  fs::create_directories(dir_);
  {
    auto file = ActiveFile::Create(path, schema).ValueOrDie();
    ASSERT_TRUE(file->Append(*batch(0), "b:1").ok());
    ASSERT_TRUE(file->Append(*batch(std::numeric_limits<int32_t>::max()), "b:2").ok());
    ASSERT_TRUE(file->Close().ok());
  }
  auto contents = ActiveFile::Read(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->batch_ids, (std::vector<std::string>{"b:1"}));
  EXPECT_EQ(contents->malformed, 1);
  EXPECT_THAT(contents->first_malformed, HasSubstr("2147483647 rows in 0 bytes of buffers"));
}

TEST_F(StorageTest, ActiveFileLeftByACrashIsRecoveredUpToTheTornTail) {
  const std::string dir = options_.local_dir + "/active/acme/logs";
  fs::create_directories(dir);
  const std::string path = dir + "/2026-11-23T08-00000000deadbeef.arrows";
  {
    auto file = ActiveFile::Create(path, Rows(0, 1)->schema()).ValueOrDie();
    ASSERT_TRUE(file->Append(*Rows(0, 10), "ingest-1:w1:1").ok());
    ASSERT_TRUE(file->Append(*Rows(10, 10), "ingest-1:w1:2").ok());
    ASSERT_TRUE(file->Sync().ok());
    // The process dies here: no Close(), and half a message at the end.
    std::ofstream(path, std::ios::app | std::ios::binary) << std::string("\xff\xff\xff\xff\x40\x00\x00\x00partial", 15);
  }
  auto server = StartServer();
  auto rows = LakeRows();
  ASSERT_EQ(rows.size(), 20u);
  EXPECT_EQ(rows.front(), 0);
  EXPECT_EQ(rows.back(), 19);
  EXPECT_FALSE(fs::exists(path));
  // The recovered batch ids are known: a replay of them is not stored again.
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  StoragePut replay;
  replay.batch_id = "ingest-1:w1:2";
  replay.tenant = "acme";
  replay.signal = ingest::v1::SIGNAL_LOGS;
  replay.batch = Rows(10, 10);
  EXPECT_EQ(Send(sender, {replay}).size(), 1u);
  server->Stop();
  EXPECT_EQ(LakeRows().size(), 20u);
}

TEST_F(StorageTest, SenderFailsOverToAHealthyEndpoint) {
  auto server = StartServer();
  // Nothing listens on the first endpoint.
  ingest::FlightSender sender({.endpoints = {"127.0.0.1:1", "127.0.0.1:" + std::to_string(server->port())},
                               .timeout = std::chrono::seconds(5),
                               .cluster_token = kTestClusterToken});
  auto puts = Puts("ingest-1:w1", 1, 3);
  EXPECT_EQ(Send(sender, puts).size(), 3u);
  // The dead endpoint is now marked unhealthy: the next call goes straight to the live one.
  auto more = Puts("ingest-1:w1", 4, 2);
  EXPECT_EQ(Send(sender, more).size(), 2u);
  server->Stop();
  EXPECT_EQ(LakeRows().size(), 500u);
}

TEST_F(StorageTest, SenderReportsAnUnreachableStorage) {
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:1"}, .timeout = std::chrono::seconds(2), .cluster_token = kTestClusterToken});
  arrow::Status status;
  auto confirmed = Send(sender, Puts("x:y", 1, 1), &status);
  EXPECT_TRUE(confirmed.empty());
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("storage 127.0.0.1:1"));
}

TEST_F(StorageTest, RejectsABadDescriptorAndABatchWithoutId) {
  auto server = StartServer();
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  auto puts = Puts("a:b", 1, 1);
  puts[0].tenant = "../etc";
  arrow::Status status;
  EXPECT_TRUE(Send(sender, puts, &status).empty());
  EXPECT_THAT(status.message(), HasSubstr("descriptor path must be [tenant"));
}

// The Flight port is internal: a call without the cluster token, or with another one, is refused
// (UNAUTHENTICATED) before any of its data is read, so neither the lake nor the batch registry sees
// it: the same batch ids sent by the cluster afterwards are stored, not taken for replays.
TEST_F(StorageTest, RefusesFlightCallsWithoutTheClusterToken) {
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  auto puts = Puts("outsider:w1", 1, 2);
  {
    // No token at all: a plain Flight client, as anyone on the network could run.
    auto location = arrow::flight::Location::Parse("grpc+tcp://" + address).ValueOrDie();
    auto client = arrow::flight::FlightClient::Connect(location).ValueOrDie();
    auto put = client->DoPut({}, arrow::flight::FlightDescriptor::Path({"acme", "logs"}), puts[0].batch->schema());
    arrow::Status status = put.status();
    if (status.ok()) {
      status = put->writer->WriteWithMetadata(*puts[0].batch, arrow::Buffer::FromString(puts[0].batch_id));
      if (status.ok()) status = put->writer->DoneWriting();
      std::shared_ptr<arrow::Buffer> metadata;
      if (status.ok()) status = put->reader->ReadMetadata(&metadata);
      if (status.ok()) status = put->writer->Close();
    }
    ASSERT_FALSE(status.ok());
    auto detail = arrow::flight::FlightStatusDetail::UnwrapStatus(status);
    ASSERT_NE(detail, nullptr) << status;
    EXPECT_EQ(detail->code(), arrow::flight::FlightStatusCode::Unauthenticated) << status;
    EXPECT_THAT(status.message(), HasSubstr("x-openwit-cluster-token"));
    auto list = client->ListFlights();
    ASSERT_FALSE(list.ok());
    EXPECT_THAT(list.status().message(), HasSubstr("internal to the OpenWit cluster"));
  }
  for (std::string token : {"", "a-wrong-cluster-token"}) {
    ingest::FlightSender outsider({.endpoints = {address}, .timeout = std::chrono::seconds(5), .cluster_token = token});
    arrow::Status status;
    EXPECT_TRUE(Send(outsider, puts, &status).empty());
    EXPECT_THAT(status.message(), HasSubstr("wrong cluster token")) << token;
  }
  ingest::FlightSender member({.endpoints = {address}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(member, puts).size(), 2u);
  ASSERT_TRUE(server->RotateAll().ok());
  EXPECT_EQ(LakeRows().size(), 200u);
}

TEST_F(StorageTest, StartsOnlyWithAClusterToken) {
  options_.cluster_token.clear();
  auto server = StorageServer::Start(options_, "127.0.0.1", 0);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("cluster token"));
}

// A port taken by another process is an error naming the address, not a crash in Flight's
// Shutdown of a server that never listened (what `openwit all` did when its Flight port was taken).
TEST_F(StorageTest, APortInUseIsAnErrorNotACrash) {
  int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(taken, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  ASSERT_EQ(::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto server = StorageServer::Start(options_, "127.0.0.1", ntohs(address.sin_port));
  ::close(taken);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("cannot listen on 127.0.0.1:"));
}

}  // namespace
}  // namespace openwit::storage

namespace openwit::storage {
namespace {

// Rows with a Timestamp column, as the logs schema has, so the metastore gets a time range.
std::shared_ptr<arrow::RecordBatch> TimedRows(int64_t first_ns, int64_t n) {
  arrow::TimestampBuilder times(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), arrow::default_memory_pool());
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(times.Append(first_ns + i).ok());
  return arrow::RecordBatch::Make(
      arrow::schema({arrow::field("Timestamp", arrow::timestamp(arrow::TimeUnit::NANO, "UTC"))}), n,
      {times.Finish().ValueOrDie()});
}

TEST_F(StorageTest, PublishedFilesAreRegisteredWithTheirTimeRange) {
  auto server = StartServer();
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  StoragePut put;
  put.batch_id = "ingest-1:w1:1";
  put.tenant = "acme";
  put.signal = ingest::v1::SIGNAL_LOGS;
  put.batch = TimedRows(1'700'000'000'000'000'000, 50);
  EXPECT_EQ(Send(sender, {put}).size(), 1u);
  ASSERT_TRUE(server->RotateAll().ok());
  auto files = lake_.metastore->ListFiles({.tenant = "acme", .signal = "logs"});
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  const LakeFile& f = files->front();
  EXPECT_EQ(f.row_count, 50);
  EXPECT_EQ(f.min_time_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(f.max_time_ns, 1'700'000'000'000'000'049);
  EXPECT_EQ(f.schema_fingerprint.size(), 16u);
  EXPECT_THAT(f.uri, ::testing::StartsWith("file://" + fs::weakly_canonical(lake_.dir).string() +
                                           "/tenant=acme/signal=logs/date="));
  EXPECT_EQ(f.size_bytes, static_cast<int64_t>(fs::file_size(f.uri.substr(7))));
  // The local copy is gone once published (delete_local_after_upload).
  int local_parquet = 0;
  for (const auto& e : fs::recursive_directory_iterator(options_.local_dir)) {
    local_parquet += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(local_parquet, 0);
}

// A metastore that refuses writes while a trigger says so (the failure comes from the engine).
void RefuseRegistrations(const std::string& sqlite_path, bool refuse) {
  auto db = OpenSqlite(sqlite_path).ValueOrDie();
  ASSERT_TRUE((refuse ? db->Execute("CREATE TRIGGER refuse BEFORE INSERT ON lake_files "
                                    "BEGIN SELECT RAISE(ABORT, 'metastore refuses'); END")
                      : db->Execute("DROP TRIGGER refuse"))
                  .ok());
}

TEST_F(StorageTest, FileKeptLocallyIsRegisteredWhenTheMetastoreComesBack) {
  options_.delete_local_after_upload = false;  // the local copy outlives the upload
  auto server = StartServer();
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), true);
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(sender, Puts("ingest-1:w1", 1, 2)).size(), 2u);  // confirmed: durable locally
  ASSERT_TRUE(server->RotateAll().ok());
  EXPECT_TRUE(lake_.metastore->ListFiles()->empty());
  EXPECT_FALSE(server->PublishPending().ok());
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), false);
  ASSERT_TRUE(server->PublishPending().ok());
  ASSERT_EQ(lake_.metastore->ListFiles()->size(), 1u);
  EXPECT_EQ(lake_.metastore->ListFiles()->front().row_count, 200);
  server->Stop();
  EXPECT_EQ(LakeRows().size(), 200u);  // in the lake once
  int kept = 0;
  for (const auto& e : fs::recursive_directory_iterator(options_.local_dir + "/uploaded")) {
    kept += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(kept, 1);
}

TEST_F(StorageTest, UploadedButUnregisteredFileIsFoundByTheJanitor) {
  auto server = StartServer();
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), true);
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  StoragePut put;
  put.batch_id = "ingest-1:w1:1";
  put.tenant = "acme";
  put.signal = ingest::v1::SIGNAL_LOGS;
  put.batch = TimedRows(1'000, 10);
  EXPECT_EQ(Send(sender, {put}).size(), 1u);
  ASSERT_TRUE(server->RotateAll().ok());
  server->Stop();
  // Moved into the lake, then the metadata write failed: in the lake, invisible.
  auto keys = lake_.store->ListParquet();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_TRUE(lake_.metastore->ListFiles()->empty());
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), false);

  Janitor janitor({.retention_days = 0}, lake_.store.get(), lake_.metastore.get());
  auto report = janitor.RunOnce(NowNanos());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->registered, 1);
  auto files = lake_.metastore->ListFiles();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().uri, lake_.store->Uri(keys->front()));
  EXPECT_EQ(files->front().row_count, 10);
  EXPECT_EQ(files->front().min_time_ns, 1'000);
  EXPECT_EQ(files->front().max_time_ns, 1'009);
  // A second pass finds nothing new.
  EXPECT_EQ(janitor.RunOnce(NowNanos())->registered, 0);
}

TEST_F(StorageTest, JanitorAppliesRetentionPerTenantAndLeavesStrangersAlone) {
  const int64_t day = 86400ll * 1000000000ll;
  const int64_t now = 100 * day;
  // Three files: acme's 10 days old, acme's 1 day old, beta's 10 days old.
  auto write = [&](const std::string& tenant, const std::string& base, int64_t time) {
    const std::string local = (dir_ / (base + ".parquet")).string();
    ASSERT_TRUE(WriteStableParquet({TimedRows(time, 3)}, TimedRows(time, 3)->schema(), local).ok());
    const std::string key = LakeKey(tenant, "logs", "2026-11-23T08", base);
    ASSERT_TRUE(lake_.store->Upload(local, key, true).ok());
  };
  write("acme", "old", now - 10 * day);
  write("acme", "new", now - 1 * day);
  write("beta", "old", now - 10 * day);
  // Not a lake file: never registered, never deleted.
  fs::create_directories(lake_.dir + "/notes");
  std::ofstream(lake_.dir + "/notes/readme.parquet") << "not parquet";

  Janitor janitor({.retention_days = 7, .tenant_retention_days = {{"beta", 0}}}, lake_.store.get(),
                  lake_.metastore.get());
  auto report = janitor.RunOnce(now);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->registered, 3);
  EXPECT_EQ(report->expired, 1);
  EXPECT_EQ(report->unreadable, 1);
  auto files = lake_.metastore->ListFiles();
  ASSERT_EQ(files->size(), 2u);
  std::set<std::string> left;
  for (const auto& f : *files) left.insert(lake_.store->KeyOf(f.uri));
  EXPECT_EQ(left, (std::set<std::string>{LakeKey("acme", "logs", "2026-11-23T08", "new"),
                                         LakeKey("beta", "logs", "2026-11-23T08", "old")}));
  EXPECT_FALSE(fs::exists(lake_.dir + "/" + LakeKey("acme", "logs", "2026-11-23T08", "old")));
  EXPECT_TRUE(fs::exists(lake_.dir + "/notes/readme.parquet"));
}

// Rows with nested columns, which a stable file read back from Parquet names its own way.
std::shared_ptr<arrow::RecordBatch> NestedRows(int64_t first, int64_t n) {
  arrow::Int64Builder values;
  auto pool = arrow::default_memory_pool();
  arrow::MapBuilder attrs(pool, std::make_shared<arrow::StringBuilder>(), std::make_shared<arrow::StringBuilder>());
  arrow::ListBuilder counts(pool, std::make_shared<arrow::UInt64Builder>());
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(values.Append(first + i).ok());
    EXPECT_TRUE(attrs.Append().ok());
    EXPECT_TRUE(static_cast<arrow::StringBuilder*>(attrs.key_builder())->Append("k").ok());
    EXPECT_TRUE(static_cast<arrow::StringBuilder*>(attrs.item_builder())->Append(std::to_string(i)).ok());
    EXPECT_TRUE(counts.Append().ok());
    EXPECT_TRUE(static_cast<arrow::UInt64Builder*>(counts.value_builder())->Append(static_cast<uint64_t>(i)).ok());
  }
  auto schema =
      arrow::schema({arrow::field("v", arrow::int64()), arrow::field("attrs", arrow::map(arrow::utf8(), arrow::utf8())),
                     arrow::field("counts", arrow::list(arrow::uint64()))});
  return arrow::RecordBatch::Make(
      schema, n, {values.Finish().ValueOrDie(), attrs.Finish().ValueOrDie(), counts.Finish().ValueOrDie()});
}

// The values of column v of fresh batches, sorted, and the stems they came with.
std::pair<std::vector<int64_t>, std::set<std::string>> FreshRows(const search::FreshData& data) {
  std::vector<int64_t> rows;
  std::set<std::string> stems;
  for (const auto& fresh : data.batches) {
    stems.insert(fresh.stem);
    auto values = std::static_pointer_cast<arrow::Int64Array>(fresh.batch->GetColumnByName("v"));
    for (int64_t i = 0; i < values->length(); ++i) rows.push_back(values->Value(i));
  }
  std::sort(rows.begin(), rows.end());
  return {rows, stems};
}

std::vector<int64_t> Range(int64_t first, int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), first);
  return out;
}

// The search role's DoGet (issue #13): what is not published yet, of the asked tenant only, each
// batch with its file's stem, the stem the lake file gets.
TEST_F(StorageTest, ServesUnpublishedBatchesOfTheAskedTenantOnly) {
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  ingest::FlightSender sender({.endpoints = {address}, .cluster_token = kTestClusterToken});
  auto acme = Puts("ingest-1:w1", 1, 3);
  auto globex = Puts("ingest-1:w2", 10, 2);
  for (auto& p : globex) p.tenant = "globex";
  EXPECT_EQ(Send(sender, acme).size(), 3u);
  EXPECT_EQ(Send(sender, globex).size(), 2u);
  search::StorageFreshSource source({.endpoints = {address}, .cluster_token = kTestClusterToken});

  auto a = source.Fetch("acme", "logs");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->sources_unreachable, 0);
  auto [rows, stems] = FreshRows(*a);
  std::vector<int64_t> want;
  for (int i = 1; i <= 3; ++i) {
    auto r = Range(i * 1000, 100);
    want.insert(want.end(), r.begin(), r.end());
  }
  EXPECT_EQ(rows, want);
  ASSERT_EQ(stems.size(), 1u);
  EXPECT_THAT(*stems.begin(), ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9a-f]{16}"));

  auto g = source.Fetch("globex", "logs");
  ASSERT_TRUE(g.ok()) << g.status();
  std::vector<int64_t> want_globex = Range(10000, 100);
  auto more = Range(11000, 100);
  want_globex.insert(want_globex.end(), more.begin(), more.end());
  EXPECT_EQ(FreshRows(*g).first, want_globex);
  for (const auto& [tenant, signal] : {std::pair{"nobody", "logs"}, std::pair{"acme", "traces"}}) {
    auto none = source.Fetch(tenant, signal);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->batches.empty()) << tenant << " " << signal;
  }

  // Published: in the metastore under the same stem, and no longer fresh.
  ASSERT_TRUE(server->RotateAll().ok());
  auto files = lake_.metastore->ListFiles({.tenant = "acme", .signal = "logs"});
  ASSERT_TRUE(files.ok() && files->size() == 1u);
  EXPECT_EQ(FileStem(files->front().uri), *stems.begin());
  auto after = source.Fetch("acme", "logs");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->batches.empty());
}

TEST_F(StorageTest, FreshAnswersNeedTheClusterTokenAndAFreshTicket) {
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  ingest::FlightSender sender({.endpoints = {address}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(sender, Puts("ingest-1:w1", 1, 1)).size(), 1u);
  auto location = arrow::flight::Location::Parse("grpc+tcp://" + address).ValueOrDie();
  auto client = arrow::flight::FlightClient::Connect(location).ValueOrDie();
  const arrow::flight::Ticket ticket{FreshTicketJson({"acme", "logs"})};
  // No token: refused before anything is read.
  auto refused = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto reader, client->DoGet(ticket));
    return reader->ToTable().status();
  }();
  ASSERT_FALSE(refused.ok());
  auto detail = arrow::flight::FlightStatusDetail::UnwrapStatus(refused);
  ASSERT_NE(detail, nullptr) << refused;
  EXPECT_EQ(detail->code(), arrow::flight::FlightStatusCode::Unauthenticated) << refused;
  // With the token, a ticket that is not a valid fresh ticket is refused too.
  arrow::flight::FlightCallOptions call;
  call.headers.emplace_back("x-openwit-cluster-token", kTestClusterToken);
  for (std::string bad :
       {std::string("acme/logs"), FreshTicketJson({"../acme", "logs"}), FreshTicketJson({"acme", "blobs"}),
        std::string(R"({"fresh": {"tenant": 7, "signal": "logs"}})")}) {
    auto status = [&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto reader, client->DoGet(call, arrow::flight::Ticket{bad}));
      return reader->ToTable().status();
    }();
    EXPECT_THAT(status.message(), HasSubstr("ticket must be")) << bad;
  }
  // A wrong token, or a storage node that is down, fails no fetch: it is counted.
  search::StorageFreshSource wrong({.endpoints = {address}, .cluster_token = "a-wrong-cluster-token"});
  auto w = wrong.Fetch("acme", "logs");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->sources_unreachable, 1);
  EXPECT_TRUE(w->batches.empty());
  search::StorageFreshSource partly(
      {.endpoints = {"127.0.0.1:1", address}, .cluster_token = kTestClusterToken, .timeout = std::chrono::seconds(5)});
  auto p = partly.Fetch("acme", "logs");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->sources_unreachable, 1);
  EXPECT_EQ(FreshRows(*p).first, Range(1000, 100));
}

// The search role keeps one Flight client per storage node: a node that went down and came back
// on its address answers the next fetch.
TEST_F(StorageTest, AFreshSourceAsksARestartedNodeAgain) {
  auto server = StartServer();
  const int port = server->port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  ingest::FlightSender sender({.endpoints = {address}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(sender, Puts("ingest-1:w1", 1, 2)).size(), 2u);
  search::StorageFreshSource source(
      {.endpoints = {address}, .cluster_token = kTestClusterToken, .timeout = std::chrono::seconds(5)});
  for (int i = 0; i < 3; ++i) {  // the same client each time
    auto before = source.Fetch("acme", "logs");
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_EQ(before->sources_unreachable, 0);
    EXPECT_EQ(FreshRows(*before).first.size(), 200u);
  }
  server.reset();
  auto down = source.Fetch("acme", "logs");
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->sources_unreachable, 1);
  auto again = StorageServer::Start(options_, "127.0.0.1", port);
  ASSERT_TRUE(again.ok()) << again.status();
  auto back = source.Fetch("acme", "logs");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sources_unreachable, 0);
}

// Holds, until Release(), one kind of call on the real filesystem: the creation of every stable
// Parquet file (a finalization caught while it encodes), or the first sync of an active file (a
// stream caught between its append and its confirmation).
class HoldingEnv final : public Env {
 public:
  enum class Hold { kStableParquet, kFirstActiveSync };
  explicit HoldingEnv(Hold hold) : hold_(hold) {}

  arrow::Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode) override {
    if (hold_ == Hold::kStableParquet && path.ends_with(".parquet.tmp")) Wait();
    ARROW_ASSIGN_OR_RAISE(auto file, Env::Default()->NewWritableFile(path, mode));
    if (hold_ != Hold::kFirstActiveSync || !path.ends_with(".arrows")) return file;
    return std::unique_ptr<WritableFile>(new HeldSync(this, std::move(file)));
  }
  arrow::Status RenameFile(const std::string& from, const std::string& to) override {
    return Env::Default()->RenameFile(from, to);
  }
  arrow::Status SyncDir(const std::string& dir) override { return Env::Default()->SyncDir(dir); }
  arrow::Status CreateDirs(const std::string& dir) override { return Env::Default()->CreateDirs(dir); }
  arrow::Status RemoveFile(const std::string& path) override { return Env::Default()->RemoveFile(path); }

  void AwaitHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  class HeldSync final : public WritableFile {
   public:
    HeldSync(HoldingEnv* env, std::unique_ptr<WritableFile> base) : env_(env), base_(std::move(base)) {}
    arrow::Status Append(std::string_view data) override { return base_->Append(data); }
    arrow::Status Sync() override {
      if (!env_->first_sync_done_.exchange(true)) env_->Wait();
      return base_->Sync();
    }
    arrow::Status Close() override { return base_->Close(); }
    const std::string& path() const override { return base_->path(); }

   private:
    HoldingEnv* env_;
    std::unique_ptr<WritableFile> base_;
  };

  void Wait() {
    std::unique_lock lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }

  const Hold hold_;
  std::atomic<bool> first_sync_done_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
};

// A file being encoded into Parquet (seconds for a large one) does not hold up the search role's
// fresh answers: they read it from its active file until the stable one takes its place, and
// every row is in exactly one of the two answers around the swap.
TEST_F(StorageTest, FreshAnswersDoNotWaitForAFileBeingEncoded) {
  HoldingEnv env(HoldingEnv::Hold::kStableParquet);
  options_.env = &env;
  options_.delete_local_after_upload = false;
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  ingest::FlightSender sender({.endpoints = {address}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(sender, Puts("ingest-1:w1", 1, 2)).size(), 2u);
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), true);  // the stable file stays fresh after
  std::thread rotation([&] { EXPECT_TRUE(server->RotateAll().ok()); });
  env.AwaitHeld();
  search::StorageFreshSource source(
      {.endpoints = {address}, .cluster_token = kTestClusterToken, .timeout = std::chrono::seconds(3)});
  auto during = source.Fetch("acme", "logs");
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->sources_unreachable, 0);  // it answered, within its 3 s
  EXPECT_EQ(FreshRows(*during).first.size(), 200u);
  env.Release();
  rotation.join();
  auto after = source.Fetch("acme", "logs");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(FreshRows(*after).first, FreshRows(*during).first);  // from the stable file now, once
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), false);
}

// A failed fsync (issue #14): the batches it covered are not confirmed and come again; the file
// fails for good, so the retry goes to a new file, and finalization leaves the failed copies out:
// each batch once in the lake.
TEST_F(StorageTest, AFailedSyncConfirmsNothingItCoveredAndTheRetryIsStoredOnce) {
  openwit::testing::FaultEnv env;
  options_.env = &env;
  auto server = StartServer();
  ingest::FlightSender sender(
      {.endpoints = {"127.0.0.1:" + std::to_string(server->port())}, .cluster_token = kTestClusterToken});
  EXPECT_EQ(Send(sender, Puts("ingest-1:w1", 1, 2)).size(), 2u);
  env.FailSync(".arrows");
  auto later = Puts("ingest-1:w1", 3, 2);
  arrow::Status failed;
  EXPECT_TRUE(Send(sender, later, &failed).empty());
  EXPECT_THAT(failed.message(), HasSubstr("not confirmed")) << failed;
  EXPECT_EQ(Send(sender, later).size(), 2u);  // the sender's retry
  ASSERT_TRUE(server->RotateAll().ok());
  // The failed file is the rotation loop's (it retires a failed file at once): it may still be
  // publishing when RotateAll, which finalized the other, returns.
  auto rows = LakeRows();
  for (int i = 0; i < 500 && rows.size() < 400u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rows = LakeRows();
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows.size(), 400u);
  EXPECT_EQ(std::adjacent_find(rows.begin(), rows.end()), rows.end());  // no row twice
}

// Linux reports a lost write-back once: a sync after a failed one, or after a close whose sync
// failed, must not say OK (a concurrent stream would confirm what is not on disk).
TEST_F(StorageTest, AnActiveFileThatFailedASyncFailsForGood) {
  openwit::testing::FaultEnv env;
  fs::create_directories(dir_);
  auto batch = TimedRows(1'000, 10);
  for (bool at_close : {false, true}) {
    const std::string path = (dir_ / (at_close ? "close.arrows" : "sync.arrows")).string();
    auto file = ActiveFile::Create(path, batch->schema(), &env);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append(*batch, "confirmed").ok());
    ASSERT_TRUE((*file)->Sync().ok());
    ASSERT_TRUE((*file)->Append(*batch, "lost").ok());
    env.FailSync(path);
    if (at_close) {
      EXPECT_FALSE((*file)->Close().ok());
    } else {
      EXPECT_FALSE((*file)->Sync().ok());
    }
    EXPECT_FALSE((*file)->Sync().ok()) << path;  // the disk would say OK now: the file does not
    EXPECT_TRUE((*file)->failed());
    EXPECT_EQ((*file)->withdrawn(), std::set<std::string>{"lost"});
    EXPECT_FALSE((*file)->Append(*batch, "after").ok());
  }
}

// A retry of a batch racing the slow stream that carries it (its first sync held): the retry is
// neither appended again nor confirmed before the first is durable; once it is, the retry is
// confirmed as a duplicate.
TEST_F(StorageTest, ARetryRacingItsSlowStreamIsStoredOnce) {
  HoldingEnv env(HoldingEnv::Hold::kFirstActiveSync);
  options_.env = &env;
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  ingest::FlightSender slow({.endpoints = {address}, .cluster_token = kTestClusterToken});
  ingest::FlightSender retry({.endpoints = {address}, .cluster_token = kTestClusterToken});
  auto puts = Puts("ingest-1:w1", 1, 1);
  std::thread first([&] { EXPECT_EQ(Send(slow, puts).size(), 1u); });
  env.AwaitHeld();
  arrow::Status refused;
  EXPECT_TRUE(Send(retry, puts, &refused).empty());  // being stored by the other stream
  EXPECT_FALSE(refused.ok());
  env.Release();
  first.join();
  EXPECT_EQ(Send(retry, puts).size(), 1u);
  ASSERT_TRUE(server->RotateAll().ok());
  EXPECT_EQ(LakeRows().size(), 100u);
}

// A file rotated but not published (the metastore refuses) is still fresh, read back from its
// stable Parquet beside the active file that follows it; once published it is not.
TEST_F(StorageTest, StableFilesWaitingForPublicationAreFresh) {
  options_.delete_local_after_upload = false;  // the stable copy stays while the metastore refuses
  auto server = StartServer();
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  ingest::FlightSender sender({.endpoints = {address}, .cluster_token = kTestClusterToken});
  auto put = [&](const std::string& id, int64_t first) {
    StoragePut p;
    p.batch_id = id;
    p.tenant = "acme";
    p.signal = ingest::v1::SIGNAL_LOGS;
    p.batch = NestedRows(first, 10);
    p.records = 10;
    EXPECT_EQ(Send(sender, {p}).size(), 1u);
  };
  put("ingest-1:w1:1", 0);
  RefuseRegistrations((dir_ / "metastore.sqlite").string(), true);
  ASSERT_TRUE(server->RotateAll().ok());
  put("ingest-1:w1:2", 100);
  search::StorageFreshSource source({.endpoints = {address}, .cluster_token = kTestClusterToken});
  auto both = source.Fetch("acme", "logs");
  ASSERT_TRUE(both.ok()) << both.status();
  auto [rows, stems] = FreshRows(*both);
  auto want = Range(0, 10);
  auto later = Range(100, 10);
  want.insert(want.end(), later.begin(), later.end());
  EXPECT_EQ(rows, want);
  EXPECT_EQ(stems.size(), 2u);
  for (const auto& fresh : both->batches) {
    EXPECT_EQ(fresh.batch->schema()->field(1)->type()->id(), arrow::Type::MAP);
    EXPECT_TRUE(fresh.batch->ValidateFull().ok());
  }

  RefuseRegistrations((dir_ / "metastore.sqlite").string(), false);
  ASSERT_TRUE(server->PublishPending().ok());
  auto files = lake_.metastore->ListFiles({.tenant = "acme", .signal = "logs"});
  ASSERT_TRUE(files.ok() && files->size() == 1u);
  const std::string published = FileStem(files->front().uri);
  EXPECT_EQ(stems.count(published), 1u);
  auto rest = source.Fetch("acme", "logs");
  ASSERT_TRUE(rest.ok()) << rest.status();
  auto [rest_rows, rest_stems] = FreshRows(*rest);
  EXPECT_EQ(rest_rows, Range(100, 10));
  EXPECT_EQ(rest_stems.count(published), 0u);
}

TEST(LakeKeyTest, ParsesWhatItMakes) {
  const std::string key = LakeKey("acme", "traces", "2026-11-23T08", "f1");
  EXPECT_EQ(key, "tenant=acme/signal=traces/date=2026-11-23/hour=08/f1.parquet");
  auto parts = ParseLakeKey(key);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->tenant, "acme");
  EXPECT_EQ(parts->signal, "traces");
  EXPECT_FALSE(ParseLakeKey("tenant=acme/signal=blobs/date=d/hour=h/f.parquet").ok());
  EXPECT_FALSE(ParseLakeKey("notes/readme.parquet").ok());
}

TEST(ObjectStoreTest, RefusesAMalformedS3Uri) {
  ObjectStoreConfig config;
  config.uri = "s3:///no-bucket";
  auto store = ObjectStore::Open(config);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("expected s3://bucket[/prefix]"));
}

TEST(ObjectStoreTest, S3UploadIsVerifiedListedReadAndDeleted) {
  testing::TestMinio minio;
  minio.CreateBucket("lake");
  ObjectStoreConfig config;
  config.uri = "s3://lake/otel/";
  config.endpoint_override = minio.endpoint();
  config.access_key_id = minio.access_key();
  config.secret_access_key = minio.secret_key();
  auto store = ObjectStore::Open(config);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->uri_root(), "s3://lake/otel");

  const auto dir = fs::temp_directory_path() / ("openwit-s3-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string local = (dir / "f.parquet").string();
  ASSERT_TRUE(WriteStableParquet({TimedRows(5, 7)}, TimedRows(5, 7)->schema(), local).ok());
  const std::string key = LakeKey("acme", "logs", "2026-11-23T08", "f");
  ASSERT_TRUE((*store)->Upload(local, key, true).ok());
  EXPECT_TRUE(fs::exists(local));  // an S3 store leaves the local copy to its caller
  auto keys = (*store)->ListParquet();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, std::vector<std::string>{key});
  auto row = DescribeParquet((*store)->OpenForRead(key).ValueOrDie(), (*store)->Uri(key), "acme", "logs");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->row_count, 7);
  EXPECT_EQ(row->min_time_ns, 5);
  EXPECT_EQ(row->max_time_ns, 11);
  EXPECT_EQ((*store)->KeyOf(row->uri), key);
  ASSERT_TRUE((*store)->Delete(key).ok());
  EXPECT_TRUE((*store)->ListParquet()->empty());
  EXPECT_TRUE((*store)->Delete(key).ok());  // gone already is fine

  // A bucket that does not exist is a clear error at start.
  config.uri = "s3://no-such-bucket";
  auto missing = ObjectStore::Open(config);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no-such-bucket"));
  fs::remove_all(dir);
}

TEST(RetentionOverridesTest, ParseAndRefuse) {
  auto ok = ParseRetentionOverrides({"acme=7", "beta=0"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("acme"), 7);
  EXPECT_EQ(ok->at("beta"), 0);
  for (const char* bad : {"acme", "=7", "acme=-1", "acme=7d", "acme="}) {
    EXPECT_FALSE(ParseRetentionOverrides({bad}).ok()) << bad;
  }
}

}  // namespace
}  // namespace openwit::storage
