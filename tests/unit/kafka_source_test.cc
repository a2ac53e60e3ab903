// The Kafka source's commit bookkeeping (no broker): only the acked prefix of a partition is ever
// committable, whatever order the acks come in.
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

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
    int submitted = 0;
    KafkaSource source(options, [&](ingest::v1::BulkBatch, ingest::SubmitCallback) { ++submitted; });
    auto started = source.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = std::chrono::steady_clock::now();
    source.Stop(std::chrono::seconds(5));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    EXPECT_EQ(submitted, 0);
  }
}

}  // namespace
}  // namespace openwit::gateway
