// The ingest pipeline in one process with a real storage server over Flight on loopback: the
// async ack paths run here under ASan+UBSan too (the e2e suite runs them in separate processes).

#include "ingest/ingest_pipeline.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "ingest/flight_sender.h"
#include "storage/flight_server.h"
#include "test_lake.h"

namespace openwit::ingest {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

v1::BulkBatch LogBatch(const std::string& id, const std::string& prefix, int n) {
  v1::BulkBatch b;
  b.set_batch_id(id);
  b.set_tenant("acme");
  b.set_signal(v1::SIGNAL_LOGS);
  auto* rl = b.add_resource_logs();
  auto* attr = rl->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("checkout");
  auto* sl = rl->add_scope_logs();
  for (int i = 0; i < n; ++i) {
    auto* rec = sl->add_log_records();
    rec->set_time_unix_nano(1700000000000000000ull + i);
    rec->mutable_body()->set_string_value(prefix + " " + std::to_string(i));
  }
  return b;
}

SubmitOutcome SubmitAndWait(IngestPipeline& p, const v1::BulkBatch& b) {
  std::promise<SubmitOutcome> done;
  p.Submit(b, [&](SubmitOutcome o) { done.set_value(std::move(o)); });
  return done.get_future().get();
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openwit-pipeline-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    storage_options_.local_dir = (dir_ / "storage").string();
    lake_ = storage::TestLake::Open(dir_, &storage_options_);
    options_.node_id = "unit";
    options_.processing.wal.dir = (dir_ / "wal").string();
    options_.processing.buffer.flush_interval_seconds = 0;
    options_.processing.flush_size_messages = 1;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void StartStorage() { storage_ = storage::StorageServer::Start(storage_options_, "127.0.0.1", 0).ValueOrDie(); }
  std::unique_ptr<IngestPipeline> Open(const std::string& endpoint) {
    auto p = IngestPipeline::Open(
        options_, std::make_unique<FlightSender>(FlightSenderOptions{.endpoints = {endpoint},
                                                                     .timeout = std::chrono::seconds(5),
                                                                     .unhealthy_for = std::chrono::milliseconds(50),
                                                                     .cluster_token = storage::kTestClusterToken}));
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(*p);
  }
  std::string StorageEndpoint() { return "127.0.0.1:" + std::to_string(storage_->port()); }
  static void WaitDrained(IngestPipeline& p) {
    for (int i = 0; i < 300 && p.stats().buffered_records > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(p.stats().buffered_records, 0);
  }
  // Every value of a column of the lake's files: strings as std::string, numbers and times as
  // their C type.
  template <class Array>
  auto LakeColumn(const std::string& name) {
    using View = std::remove_cvref_t<decltype(std::declval<const Array&>().GetView(0))>;
    using Value = std::conditional_t<std::is_same_v<View, std::string_view>, std::string, View>;
    std::vector<Value> values;
    for (const auto& f : fs::recursive_directory_iterator(lake_.dir)) {
      if (f.path().extension() != ".parquet") continue;
      auto reader = parquet::arrow::OpenFile(arrow::io::ReadableFile::Open(f.path().string()).ValueOrDie(),
                                             arrow::default_memory_pool())
                        .ValueOrDie();
      auto table = reader->ReadTable().ValueOrDie();
      for (const auto& chunk : table->GetColumnByName(name)->chunks()) {
        auto column = std::static_pointer_cast<Array>(chunk);
        for (int64_t i = 0; i < column->length(); ++i) values.push_back(Value(column->GetView(i)));
      }
    }
    return values;
  }
  std::vector<std::string> LakeBodies() { return LakeColumn<arrow::StringArray>("Body"); }

  fs::path dir_;
  storage::StorageOptions storage_options_;
  storage::TestLake lake_;
  PipelineOptions options_;
  std::unique_ptr<storage::StorageServer> storage_;
};

TEST_F(IngestPipelineTest, ConcurrentSendersAndRetriesStoreEachRecordOnce) {
  StartStorage();
  auto pipeline = Open(StorageEndpoint());
  std::vector<std::thread> senders;
  std::atomic<int64_t> accepted{0}, duplicates{0};
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int b = 0; b < 25; ++b) {
        auto batch = LogBatch("t" + std::to_string(t) + "b" + std::to_string(b),
                              "sender " + std::to_string(t) + " batch " + std::to_string(b), 20);
        // Every fifth batch is sent twice, as a client retry would: the second is all duplicates.
        for (int copy = 0; copy < (b % 5 == 0 ? 2 : 1); ++copy) {
          auto outcome = SubmitAndWait(*pipeline, batch);
          ASSERT_TRUE(outcome.status.ok()) << outcome.status;
          accepted += static_cast<int64_t>(outcome.ack.accepted_records());
          duplicates += static_cast<int64_t>(outcome.ack.duplicate_records());
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(accepted.load(), 4 * 25 * 20);
  EXPECT_EQ(duplicates.load(), 4 * 5 * 20);
  WaitDrained(*pipeline);
  EXPECT_EQ(pipeline->stats().wal_live_entries, 0u);
  pipeline.reset();
  storage_->Stop();
  auto bodies = LakeBodies();
  EXPECT_EQ(bodies.size(), 2000u);
  EXPECT_EQ(std::set<std::string>(bodies.begin(), bodies.end()).size(), 2000u);
}

TEST_F(IngestPipelineTest, UnsentBatchesAreReplayedAfterARestart) {
  {
    auto pipeline = Open("127.0.0.1:1");  // storage unreachable: acked batches wait in the WAL
    for (int b = 0; b < 5; ++b) {
      ASSERT_TRUE(
          SubmitAndWait(*pipeline, LogBatch("b" + std::to_string(b), "replay " + std::to_string(b), 10)).status.ok());
    }
    EXPECT_EQ(pipeline->stats().buffered_records, 50);
  }
  StartStorage();
  auto pipeline = Open(StorageEndpoint());
  EXPECT_EQ(pipeline->stats().replayed_batches, 5);
  // The replayed records are in the dedup window: a client retry of one is not stored again.
  auto retry = SubmitAndWait(*pipeline, LogBatch("b0-again", "replay 0", 10));
  EXPECT_EQ(retry.ack.duplicate_records(), 10u);
  WaitDrained(*pipeline);
  pipeline.reset();
  storage_->Stop();
  EXPECT_EQ(LakeBodies().size(), 50u);
}

TEST_F(IngestPipelineTest, AnEntryThatNoLongerConvertsDoesNotKeepTheNodeFromStarting) {
  {
    wal::WalOptions short_wal;
    short_wal.dir = (dir_ / "wal" / "short").string();
    auto wal = wal::Wal::Open(short_wal).ValueOrDie();
    auto bad = LogBatch("old", "old", 2);
    bad.mutable_resource_logs(0)->mutable_scope_logs(0)->mutable_log_records(1)->set_trace_id("short");
    ASSERT_TRUE(wal->Append(bad.SerializeAsString()).result().ok());
    ASSERT_TRUE(wal->Append(LogBatch("good", "good", 3).SerializeAsString()).result().ok());
  }
  StartStorage();
  auto pipeline = Open(StorageEndpoint());
  ASSERT_NE(pipeline, nullptr);
  EXPECT_EQ(pipeline->stats().replayed_batches, 1);  // the good one
  EXPECT_TRUE(SubmitAndWait(*pipeline, LogBatch("new", "new", 1)).status.ok());
  WaitDrained(*pipeline);
  // Set aside for a later version, and out of the short WAL, where it would pin every later segment.
  EXPECT_EQ(pipeline->stats().wal_live_entries, 0u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "wal" / "quarantine"), fs::directory_iterator{}), 1);
}

TEST_F(IngestPipelineTest, RecordsStoredBeforeARestartAreStillDuplicatesAfterIt) {
  StartStorage();
  {
    auto pipeline = Open(StorageEndpoint());
    ASSERT_TRUE(SubmitAndWait(*pipeline, LogBatch("first", "stored", 10)).status.ok());
    WaitDrained(*pipeline);  // confirmed by storage and released: nothing left to replay
  }
  // A client (or a Kafka partition whose commit was lost) sends the same records after the restart.
  auto pipeline = Open(StorageEndpoint());
  EXPECT_EQ(pipeline->stats().replayed_batches, 0);
  auto again = SubmitAndWait(*pipeline, LogBatch("first-again", "stored", 10));
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.ack.duplicate_records(), 10u);
  ASSERT_TRUE(SubmitAndWait(*pipeline, LogBatch("second", "later", 5)).status.ok());
  WaitDrained(*pipeline);  // the first segment, all released, moves to the long WAL
  pipeline.reset();
  ASSERT_FALSE(fs::is_empty(dir_ / "wal" / "long"));
  // Another restart: the keys now come from the long WAL's archived segment.
  pipeline = Open(StorageEndpoint());
  auto third = SubmitAndWait(*pipeline, LogBatch("first-third-time", "stored", 10));
  ASSERT_TRUE(third.status.ok());
  EXPECT_EQ(third.ack.duplicate_records(), 10u);
  pipeline.reset();
  storage_->Stop();
  EXPECT_EQ(LakeBodies().size(), 15u);
}

TEST_F(IngestPipelineTest, FullBufferRefusesWithARetryHint) {
  options_.processing.buffer.max_size_messages = 50;
  auto pipeline = Open("127.0.0.1:1");
  EXPECT_TRUE(SubmitAndWait(*pipeline, LogBatch("a", "a", 20)).status.ok());
  EXPECT_TRUE(SubmitAndWait(*pipeline, LogBatch("b", "b", 20)).status.ok());
  auto refused = SubmitAndWait(*pipeline, LogBatch("c", "c", 20));
  ASSERT_TRUE(refused.status.IsCapacityError());
  EXPECT_THAT(refused.status.message(), HasSubstr("buffer full: 40 of 50 records"));
  EXPECT_GT(refused.retry_after_ms, 0);
  // The refused records were not remembered: half of them, sent again, fit and are new.
  auto half = SubmitAndWait(*pipeline, LogBatch("c2", "c", 10));
  ASSERT_TRUE(half.status.ok()) << half.status;
  EXPECT_EQ(half.ack.accepted_records(), 10u);
  EXPECT_EQ(half.ack.duplicate_records(), 0u);
}

TEST_F(IngestPipelineTest, InvalidBatchesNameTheFieldAndNeverReachTheWal) {
  auto pipeline = Open("127.0.0.1:1");
  auto no_tenant = LogBatch("x", "x", 1);
  no_tenant.clear_tenant();
  EXPECT_THAT(SubmitAndWait(*pipeline, no_tenant).status.message(), HasSubstr("tenant: required"));
  for (const char* tenant : {"a/b", "..", "caf\xc3\xa9"}) {
    auto bad_tenant = LogBatch("t", "t", 1);
    bad_tenant.set_tenant(tenant);
    EXPECT_THAT(SubmitAndWait(*pipeline, bad_tenant).status.message(), HasSubstr("is not a tenant name")) << tenant;
  }
  auto mixed = LogBatch("y", "y", 1);
  mixed.set_signal(v1::SIGNAL_TRACES);
  EXPECT_THAT(SubmitAndWait(*pipeline, mixed).status.message(), HasSubstr("signal is SIGNAL_TRACES"));
  auto bad_id = LogBatch("z", "z", 3);
  bad_id.mutable_resource_logs(0)->mutable_scope_logs(0)->mutable_log_records(2)->set_trace_id("short");
  auto outcome = SubmitAndWait(*pipeline, bad_id);
  ASSERT_TRUE(outcome.status.IsInvalid());
  EXPECT_THAT(outcome.status.message(), HasSubstr("log_records[2].trace_id: 5 bytes, expected 16"));
  EXPECT_EQ(pipeline->stats().wal_live_entries, 0u);
  EXPECT_EQ(pipeline->stats().buffered_records, 0);
  // The same records, fixed, are not mistaken for duplicates of the refused batch.
  auto fixed = SubmitAndWait(*pipeline, LogBatch("z2", "z", 3));
  EXPECT_EQ(fixed.ack.accepted_records(), 3u);
  // A string that is not UTF-8 is named by its path, alone and in a batch that also repeats
  // stored records (which is parsed to be filtered).
  for (int repeats : {0, 3}) {
    auto bad_text = LogBatch("u", "z", repeats + 1);
    bad_text.mutable_resource_logs(0)
        ->mutable_scope_logs(0)
        ->mutable_log_records(repeats)
        ->mutable_body()
        ->set_string_value("bad \xff");
    outcome = SubmitAndWait(*pipeline, bad_text);
    ASSERT_TRUE(outcome.status.IsInvalid()) << outcome.status;
    EXPECT_EQ(outcome.status.message(), "resource_logs[0].scope_logs[0].log_records[" + std::to_string(repeats) +
                                            "].body.string_value: not valid UTF-8");
  }
  EXPECT_EQ(pipeline->stats().wal_live_entries, 1u) << "only the fixed batch";
}

TEST_F(IngestPipelineTest, BytesAsReceivedAreParsedOnceAndGoToTheWalUnchanged) {
  auto pipeline = Open("127.0.0.1:1");
  auto submit = [&](std::string wire) {
    std::promise<SubmitOutcome> done;
    pipeline->SubmitSerialized(std::move(wire), [&](SubmitOutcome o) { done.set_value(std::move(o)); });
    return done.get_future().get();
  };
  auto garbage = submit("\xff\xff\xff not a protobuf");
  ASSERT_TRUE(garbage.status.IsInvalid());
  EXPECT_THAT(garbage.status.message(), HasSubstr("not a serialized openwit.ingest.v1.BulkBatch"));
  const std::string wire = LogBatch("w", "wire", 4).SerializeAsString();
  auto ok = submit(wire);
  ASSERT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(ok.ack.accepted_records(), 4u);
  pipeline.reset();  // storage is unreachable: the batch stays live in the short WAL
  wal::WalOptions short_wal;
  short_wal.dir = (dir_ / "wal" / "short").string();
  auto wal = wal::Wal::Open(short_wal).ValueOrDie();
  auto live = wal->TakeLiveEntries();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].payload, wire);
}

// A pipeline reports to the registry it is handed, its WAL too: two pipelines in one process
// count apart, and a test reads its own counters.
// A dedup window too small for the rate forgets keys early: counted (dedup.evicted) and said
// (dedup.held_seconds, stats for /health), not silent.
TEST_F(IngestPipelineTest, DedupEvictionsAreCountedAndTheWindowReallyHeldIsSaid) {
  StartStorage();
  auto metrics = std::make_shared<MetricsRegistry>();
  options_.metrics = metrics;
  options_.processing.dedup_max_entries = 10;
  auto pipeline = Open(StorageEndpoint());
  ASSERT_TRUE(SubmitAndWait(*pipeline, LogBatch("a", "first", 8)).status.ok());
  EXPECT_EQ(metrics->Read("dedup.evicted").value_or(-1), 0);
  EXPECT_EQ(pipeline->stats().dedup_held_seconds, options_.processing.dedup_window_seconds);
  ASSERT_TRUE(SubmitAndWait(*pipeline, LogBatch("b", "second", 8)).status.ok());
  EXPECT_GT(metrics->Read("dedup.evicted").value_or(-1), 0);
  const auto stats = pipeline->stats();
  EXPECT_GT(stats.dedup_evicted, 0u);
  EXPECT_LE(stats.dedup_keys, 10);
  EXPECT_LT(stats.dedup_held_seconds, options_.processing.dedup_window_seconds);
  EXPECT_EQ(metrics->Read("dedup.held_seconds").value_or(-1), stats.dedup_held_seconds);
  WaitDrained(*pipeline);
}

// A short WAL entry that no longer replays neither stops the node nor pins its segment (and every
// later one) in the short WAL: it is set aside whole, counted, and released (#14).
TEST_F(IngestPipelineTest, AnEntryThatDoesNotReplayIsSetAsideAndReleased) {
  const std::string short_dir = options_.processing.wal.dir + "/short";
  uint64_t bad = 0;
  std::string wal_id;
  {
    wal::WalOptions o;
    o.dir = short_dir;
    auto wal = wal::Wal::Open(o);
    ASSERT_TRUE(wal.ok()) << wal.status();
    auto written = (*wal)->Append("not a bulk batch").result();
    ASSERT_TRUE(written.ok()) << written.status();
    bad = *written;
    wal_id = (*wal)->id();
  }
  StartStorage();
  auto metrics = std::make_shared<MetricsRegistry>();
  options_.metrics = metrics;
  {
    auto pipeline = Open(StorageEndpoint());
    EXPECT_EQ(metrics->Read("wal.quarantined").value_or(-1), 1);
    ASSERT_TRUE(SubmitAndWait(*pipeline, LogBatch("a", "after", 3)).status.ok());  // the node goes on
    WaitDrained(*pipeline);
  }
  const auto kept = fs::path(options_.processing.wal.dir) / "quarantine" / fmt::format("{}-{:020}.bulk", wal_id, bad);
  std::ifstream in(kept, std::ios::binary);
  ASSERT_TRUE(in) << kept << " missing";
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "not a bulk batch");
  wal::WalOptions o;
  o.dir = short_dir;
  auto reopened = wal::Wal::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (const auto& entry : (*reopened)->TakeLiveEntries()) EXPECT_NE(entry.sequence, bad) << "still in the WAL";
}

// A log record with no time at all is placed when the gateway received its batch, a field of the
// batch: a client's retry of it (another batch, received later) has the same dedup key (#14).
TEST_F(IngestPipelineTest, ARetryOfARecordWithoutTimeIsADuplicate) {
  StartStorage();
  auto pipeline = Open(StorageEndpoint());
  auto untimed = [](const std::string& id, uint64_t received) {
    v1::BulkBatch b;
    b.set_batch_id(id);
    b.set_tenant("acme");
    b.set_signal(v1::SIGNAL_LOGS);
    b.set_received_unix_nano(received);
    b.add_resource_logs()->add_scope_logs()->add_log_records()->mutable_body()->set_string_value("no time at all");
    return b;
  };
  constexpr uint64_t kReceived = 1'700'000'000'123'456'789;
  auto first = SubmitAndWait(*pipeline, untimed("first", kReceived));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(first.ack.accepted_records(), 1u);
  auto retry = SubmitAndWait(*pipeline, untimed("retry", kReceived + 5'000'000'000));
  ASSERT_TRUE(retry.status.ok()) << retry.status;
  EXPECT_EQ(retry.ack.duplicate_records(), 1u);
  WaitDrained(*pipeline);
  pipeline.reset();
  storage_->Stop();
  auto times = LakeColumn<arrow::TimestampArray>("Timestamp");
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], static_cast<int64_t>(kReceived));
  auto observed = LakeColumn<arrow::TimestampArray>("ObservedTimestamp");
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0], static_cast<int64_t>(kReceived));
}

TEST_F(IngestPipelineTest, TwoPipelinesCountInTheirOwnRegistries) {
  StartStorage();
  auto first_metrics = std::make_shared<MetricsRegistry>();
  auto second_metrics = std::make_shared<MetricsRegistry>();
  options_.metrics = first_metrics;
  auto first = Open(StorageEndpoint());
  options_.node_id = "unit-2";
  options_.processing.wal.dir = (dir_ / "wal-2").string();
  options_.metrics = second_metrics;
  auto second = Open(StorageEndpoint());

  ASSERT_TRUE(SubmitAndWait(*first, LogBatch("a", "first", 3)).status.ok());
  ASSERT_TRUE(SubmitAndWait(*first, LogBatch("b", "first again", 2)).status.ok());
  ASSERT_TRUE(SubmitAndWait(*second, LogBatch("c", "second", 4)).status.ok());
  ASSERT_TRUE(SubmitAndWait(*second, LogBatch("c", "second", 4)).status.ok());  // a retry: all duplicates
  WaitDrained(*first);
  WaitDrained(*second);

  auto read = [](MetricsRegistry& m, std::string_view name, const prometheus::Labels& labels = {}) {
    return m.Read(name, labels).value_or(-1);
  };
  EXPECT_EQ(read(*first_metrics, "ingest.records.accepted"), 5);
  EXPECT_EQ(read(*second_metrics, "ingest.records.accepted"), 4);
  EXPECT_EQ(read(*first_metrics, "ingest.records.stored"), 5);
  EXPECT_EQ(read(*second_metrics, "ingest.records.stored"), 4);
  EXPECT_EQ(read(*first_metrics, "dedup.duplicates"), 0);
  EXPECT_EQ(read(*second_metrics, "dedup.duplicates"), 4);
  EXPECT_EQ(read(*first_metrics, "ack.latency"), 2);  // a histogram reads as its count
  EXPECT_EQ(read(*second_metrics, "ack.latency"), 2);
  EXPECT_GE(read(*first_metrics, "wal.write.latency", {{"wal", "short"}}), 1);
  EXPECT_GE(read(*second_metrics, "wal.write.latency", {{"wal", "short"}}), 1);
  EXPECT_FALSE(first_metrics->Read("no.such.metric").has_value());
}

}  // namespace
}  // namespace openwit::ingest

namespace openwit::ingest {
namespace {

// A log batch whose resource carries a `blob_bytes` attribute: once on the wire, on every row in Arrow.
v1::BulkBatch BlobBatch(const std::string& id, const std::string& prefix, int n, size_t blob_bytes) {
  v1::BulkBatch b = LogBatch(id, prefix, n);
  auto* attr = b.mutable_resource_logs(0)->mutable_resource()->add_attributes();
  attr->set_key("blob");
  attr->mutable_value()->set_string_value(std::string(blob_bytes, 'x'));
  return b;
}

// Issue #11: tiny records under a huge resource. The batch is refused as one that could never fit,
// and the node takes the next batch.
TEST_F(IngestPipelineTest, BatchWhoseArrowFormCannotFitIsRefusedAsInvalid) {
  options_.processing.buffer.max_size_bytes = 64ll << 20;
  StartStorage();
  auto pipeline = Open(StorageEndpoint());
  v1::BulkBatch huge = BlobBatch("huge", "tiny", 20000, 64 << 10);  // 64 KiB x 20,000 rows = 1.25 GiB
  ASSERT_LT(huge.ByteSizeLong(), 1u << 20);
  auto outcome = SubmitAndWait(*pipeline, huge);
  ASSERT_TRUE(outcome.status.IsInvalid()) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("processing.buffer.max_size_bytes"));
  EXPECT_EQ(pipeline->stats().buffered_bytes, 0);

  // The same thread's converter takes the next batch as if nothing happened.
  outcome = SubmitAndWait(*pipeline, BlobBatch("fits", "fine", 200, 16 << 10));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.ack.accepted_records(), 200u);
  WaitDrained(*pipeline);
  pipeline->Stop(std::chrono::seconds(5));
  storage_->Stop();
  EXPECT_EQ(LakeBodies().size(), 200u);
}

// The buffer counts what a batch holds in memory (its Arrow bytes), not only its wire size.
TEST_F(IngestPipelineTest, BufferCountsArrowBytes) {
  options_.processing.buffer.max_size_bytes = 8ll << 20;
  auto pipeline = Open("127.0.0.1:1");                            // no storage: what is accepted stays buffered
  v1::BulkBatch first = BlobBatch("b1", "first", 200, 16 << 10);  // 200 x 16 KiB = 3.2 MiB in Arrow
  ASSERT_LT(first.ByteSizeLong(), 64u << 10);
  auto outcome = SubmitAndWait(*pipeline, first);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_GT(pipeline->stats().buffered_bytes, 3 << 20);
  outcome = SubmitAndWait(*pipeline, BlobBatch("b2", "second", 200, 16 << 10));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  // A third does not fit beside them: retry later (it would fit an empty buffer), not invalid.
  outcome = SubmitAndWait(*pipeline, BlobBatch("b3", "third", 200, 16 << 10));
  ASSERT_TRUE(outcome.status.IsCapacityError()) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("bytes in memory"));
  pipeline->Stop(std::chrono::seconds(1));
}

// A batch larger than the whole buffer on the wire is refused as invalid at once.
TEST_F(IngestPipelineTest, BatchLargerThanTheBufferIsInvalid) {
  options_.processing.buffer.max_size_messages = 100;
  auto pipeline = Open("127.0.0.1:1");
  auto outcome = SubmitAndWait(*pipeline, LogBatch("big", "row", 101));
  ASSERT_TRUE(outcome.status.IsInvalid()) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("can never fit"));
  outcome = SubmitAndWait(*pipeline, LogBatch("ok", "row", 100));
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  pipeline->Stop(std::chrono::seconds(1));
}

}  // namespace
}  // namespace openwit::ingest
