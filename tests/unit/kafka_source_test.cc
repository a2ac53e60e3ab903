// The Kafka source without a broker: its commit bookkeeping (only the acked prefix of a partition is
// ever committable, whatever order the acks come in), the tenant of a topic, the bounded hand-over
// to the processing threads.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/bounded_channel.h"
#include "gateway/kafka_source.h"

namespace openwit::gateway {
namespace {

TEST(OffsetTracker, NothingIsCommittableBeforeAnAck) {
  OffsetTracker t;
  EXPECT_FALSE(t.Committable());
  EXPECT_TRUE(t.Track(10));
  EXPECT_TRUE(t.Track(11));
  EXPECT_FALSE(t.Committable());
  EXPECT_FALSE(t.AckedUpTo());
  EXPECT_EQ(t.outstanding(), 2u);
}

TEST(OffsetTracker, InOrderAcksCommitLastPlusOne) {
  OffsetTracker t;
  for (int64_t o = 0; o < 3; ++o) t.Track(o);
  EXPECT_TRUE(t.Ack(0));
  EXPECT_EQ(t.Committable(), 1);
  EXPECT_TRUE(t.Ack(1));
  EXPECT_TRUE(t.Ack(2));
  EXPECT_EQ(t.Committable(), 3);
  EXPECT_EQ(t.outstanding(), 0u);
}

TEST(OffsetTracker, OutOfOrderAcksWaitForEveryEarlierOffset) {
  OffsetTracker t;
  for (int64_t o = 100; o < 105; ++o) t.Track(o);
  EXPECT_TRUE(t.Ack(103));
  EXPECT_TRUE(t.Ack(101));
  EXPECT_TRUE(t.Ack(104));
  EXPECT_FALSE(t.Committable());  // 100 is not acked: nothing past it may be committed
  EXPECT_TRUE(t.Ack(100));
  EXPECT_EQ(t.Committable(), 102);  // 102 still unacked
  EXPECT_TRUE(t.Ack(102));
  EXPECT_EQ(t.Committable(), 105);
}

TEST(OffsetTracker, MarkCommittedHidesWhatIsAlreadyCommitted) {
  OffsetTracker t;
  t.Track(0);
  t.Track(1);
  t.Ack(0);
  ASSERT_EQ(t.Committable(), 1);
  t.MarkCommitted(1);
  EXPECT_FALSE(t.Committable());
  EXPECT_EQ(t.AckedUpTo(), 1);
  t.Ack(1);
  EXPECT_EQ(t.Committable(), 2);
  t.MarkCommitted(1);  // an older commit result never moves it back
  t.MarkCommitted(2);
  EXPECT_FALSE(t.Committable());
}

TEST(OffsetTracker, GapsInOffsetsAreFine) {
  // Compacted topics and transaction markers leave holes: the next consumed offset decides.
  OffsetTracker t;
  t.Track(5);
  t.Track(9);
  t.Track(20);
  t.Ack(9);
  EXPECT_FALSE(t.Committable());
  t.Ack(5);
  EXPECT_EQ(t.Committable(), 10);
  t.Ack(20);
  EXPECT_EQ(t.Committable(), 21);
}

TEST(OffsetTracker, DuplicateAndUnknownAcksAndOldOffsetsAreIgnored) {
  OffsetTracker t;
  t.Track(1);
  t.Track(2);
  EXPECT_FALSE(t.Track(2));  // not above the last tracked
  EXPECT_FALSE(t.Track(0));
  EXPECT_FALSE(t.Ack(7));  // never tracked
  EXPECT_TRUE(t.Ack(2));
  EXPECT_FALSE(t.Ack(2));  // twice
  EXPECT_FALSE(t.Committable());
  EXPECT_TRUE(t.Ack(1));
  EXPECT_FALSE(t.Ack(1));  // already in the committed prefix
  EXPECT_EQ(t.Committable(), 3);
}

TEST(OffsetTracker, ManyRandomOrderAcksNeverCommitPastAnUnackedOffset) {
  OffsetTracker t;
  const int64_t n = 1000;
  std::vector<int64_t> order;
  for (int64_t o = 0; o < n; ++o) {
    t.Track(o * 2);  // every other offset, like a transactional topic
    order.push_back(o * 2);
  }
  uint64_t x = 88172645463325252ull;  // xorshift: a fixed shuffle
  for (size_t i = order.size() - 1; i > 0; --i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::swap(order[i], order[x % (i + 1)]);
  }
  std::set<int64_t> acked;
  for (int64_t o : order) {
    ASSERT_TRUE(t.Ack(o));
    acked.insert(o);
    if (auto c = t.Committable()) {
      for (int64_t below = 0; below < *c; below += 2) ASSERT_TRUE(acked.count(below)) << below << " < " << *c;
      t.MarkCommitted(*c);
    }
  }
  EXPECT_EQ(t.AckedUpTo(), 2 * (n - 1) + 1);
}

TEST(KafkaTopicSignal, ExplicitTypeOrFromTheTopicName) {
  EXPECT_EQ(KafkaTopicSignal("logs", "anything"), ingest::v1::SIGNAL_LOGS);
  EXPECT_EQ(KafkaTopicSignal("metrics", "otlp-logs"), ingest::v1::SIGNAL_METRICS);
  EXPECT_EQ(KafkaTopicSignal("auto", "otlp-logs"), ingest::v1::SIGNAL_LOGS);
  EXPECT_EQ(KafkaTopicSignal("auto", "prod.Traces.v1"), ingest::v1::SIGNAL_TRACES);
  EXPECT_EQ(KafkaTopicSignal("auto", "otlp_spans"), ingest::v1::SIGNAL_TRACES);
  EXPECT_EQ(KafkaTopicSignal("auto", "app-metrics"), ingest::v1::SIGNAL_METRICS);
  EXPECT_EQ(KafkaTopicSignal("auto", "events"), ingest::v1::SIGNAL_UNSPECIFIED);
}

}  // namespace
}  // namespace openwit::gateway

namespace openwit::gateway {
namespace {

// A real librdkafka consumer with nothing to talk to: every allowed extreme of the fetch settings
// is accepted by librdkafka, and Stop() returns promptly with nothing in flight.
TEST(KafkaSource, StartsAndStopsWithTheConfigExtremesAndNoBroker) {
  for (bool high : {false, true}) {
    KafkaSourceOptions options;
    options.kafka.brokers = {"127.0.0.1:1"};
    options.kafka.topics = {"otlp-logs", "^otlp-.*"};
    options.kafka.consumer_type = high ? "high_performance" : "standard";
    options.kafka.high_performance.num_consumers = 2;
    options.kafka.fetch_min_bytes = high ? 1000000000 : 1;
    options.kafka.fetch_max_bytes = high ? 2147483135 : 1024;
    options.kafka.max_partition_fetch_bytes = high ? 2147483135 : 1024;
    options.kafka.session_timeout_ms = high ? 3600000 : 1000;
    struct CountingSink final : ingest::IngestSink {
      int submitted = 0;
      void Submit(ingest::v1::BulkBatch, ingest::SubmitCallback) override { ++submitted; }
    } sink;
    KafkaSource source(options, {&sink});
    auto started = source.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    source.Stop(std::chrono::seconds(5));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    EXPECT_EQ(sink.submitted, 0);
  }
}

}  // namespace
}  // namespace openwit::gateway

namespace openwit::gateway {
namespace {

TEST(KafkaTopicTenants, FirstMatchWinsAndTheRestGoToTheDefaultTenant) {
  auto tenants = KafkaTopicTenants::Make({"otlp-logs=exact", "^otlp-.*=prefixed", "^.*-audit$=audit", "^team-a=team-a"},
                                         "fallback");
  ASSERT_TRUE(tenants.ok()) << tenants.status();
  EXPECT_EQ(tenants->TenantOf("otlp-logs"), "exact");        // the exact entry comes first
  EXPECT_EQ(tenants->TenantOf("otlp-traces"), "prefixed");   // then the pattern
  EXPECT_EQ(tenants->TenantOf("otlp-x-audit"), "prefixed");  // both patterns match: the first wins
  EXPECT_EQ(tenants->TenantOf("billing-audit"), "audit");    // a pattern is anchored only as it says
  EXPECT_EQ(tenants->TenantOf("team-a-logs"), "team-a");     // "^team-a" is searched, not matched whole
  EXPECT_EQ(tenants->TenantOf("otlp-logs-2"), "prefixed");   // an exact entry is the whole name
  EXPECT_EQ(tenants->TenantOf("events"), "fallback");
  EXPECT_EQ(tenants->TenantOf("xotlp-logs"), "fallback");

  auto none = KafkaTopicTenants::Make({}, "default");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->TenantOf("otlp-logs"), "default");
}

TEST(KafkaTopicTenants, BadEntriesAreRefused) {
  for (const char* bad : {"^otlp-(=t", "otlp-logs", "otlp-logs=bad tenant", "=t"}) {
    auto tenants = KafkaTopicTenants::Make({"ok=fine", bad}, "default");
    ASSERT_FALSE(tenants.ok()) << bad;
    EXPECT_NE(tenants.status().message().find(bad), std::string::npos) << tenants.status().message();
  }
}

// The consumer -> processing hand-over: a full channel makes the writer wait (never drops), and the
// reader gets every item in order.
TEST(BoundedChannel, AFullChannelBlocksTheWriterAndLosesNothing) {
  BoundedChannel<int> channel(2);
  std::atomic<int> pushed{0};
  std::atomic<int> waits{0};
  std::thread writer([&] {
    for (int i = 0; i < 100; ++i) {
      bool waited = false;
      ASSERT_TRUE(channel.Push(int(i), &waited));
      waits += waited;
      ++pushed;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(pushed.load(), 2);  // the third Push waits for room
  EXPECT_EQ(channel.size(), 2u);
  std::vector<int> got;
  while (got.size() < 100) got.push_back(*channel.Pop());
  writer.join();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i);
  EXPECT_GE(waits.load(), 1);
}

TEST(BoundedChannel, CloseWakesWritersAndReaders) {
  BoundedChannel<int> channel(1);
  ASSERT_TRUE(channel.Push(1));
  std::thread writer([&] { EXPECT_FALSE(channel.Push(2)); });  // waits for room, then sees the close
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  channel.Close(/*discard=*/false);
  writer.join();
  EXPECT_EQ(channel.Pop(), 1);  // what was queued is still read
  EXPECT_EQ(channel.Pop(), std::nullopt);

  BoundedChannel<int> discarded(4);
  discarded.Push(1);
  discarded.Push(2);
  std::thread reader([&] { EXPECT_EQ(discarded.Pop(), 1); });
  reader.join();
  discarded.Close(/*discard=*/true);
  EXPECT_EQ(discarded.Pop(), std::nullopt);  // 2 was dropped
}

}  // namespace
}  // namespace openwit::gateway
