#include "gateway/batcher.h"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

ingest::v1::BulkBatch Logs(const std::string& tenant, int n, size_t body_size = 10) {
  ingest::v1::BulkBatch b;
  b.set_tenant(tenant);
  b.set_signal(ingest::v1::SIGNAL_LOGS);
  auto* records = b.add_resource_logs()->add_scope_logs()->mutable_log_records();
  for (int i = 0; i < n; ++i) records->Add()->mutable_body()->set_string_value(std::string(body_size, 'a' + i % 26));
  return b;
}

// Records what reaches the ingest side; answers with `outcome`.
struct Sink final : ingest::IngestSink {
  std::mutex mu;
  std::vector<ingest::v1::BulkBatch> batches;
  arrow::Status outcome;
  void Submit(ingest::v1::BulkBatch b, ingest::SubmitCallback done) override {
    {
      std::lock_guard lock(mu);
      batches.push_back(std::move(b));
    }
    ingest::SubmitOutcome o;
    o.status = outcome;
    done(o);
  }
};

// Keeps every batch unanswered until Release(), as a busy ingest node does.
struct HeldSink final : ingest::IngestSink {
  std::mutex mu;
  std::vector<ingest::v1::BulkBatch> batches;
  std::vector<ingest::SubmitCallback> unanswered;
  void Submit(ingest::v1::BulkBatch b, ingest::SubmitCallback done) override {
    std::lock_guard lock(mu);
    batches.push_back(std::move(b));
    unanswered.push_back(std::move(done));
  }
  size_t sent() {
    std::lock_guard lock(mu);
    return batches.size();
  }
  void Release() {
    std::vector<ingest::SubmitCallback> answer;
    {
      std::lock_guard lock(mu);
      answer.swap(unanswered);
    }
    for (auto& done : answer) done(ingest::SubmitOutcome{});
  }
};

TEST(BatcherTest, MergesRequestsUntilBatchSizeWhileABatchIsInFlight) {
  HeldSink sink;
  Batcher batcher({.batch_size = 10, .batch_timeout = std::chrono::hours(1), .max_in_flight = 1}, &sink);
  std::promise<void> lead_answered;
  batcher.Submit(Logs("acme", 1), [&](ingest::SubmitOutcome) { lead_answered.set_value(); });
  EXPECT_EQ(sink.sent(), 1u);  // nothing in flight: sent at once, no waiting for the timeout
  std::vector<std::future<arrow::Status>> answers;
  for (int i = 0; i < 5; ++i) {
    auto p = std::make_shared<std::promise<arrow::Status>>();
    answers.push_back(p->get_future());
    batcher.Submit(Logs("acme", 2), [p](ingest::SubmitOutcome o) { p->set_value(o.status); });
  }
  ASSERT_EQ(sink.sent(), 2u);  // the five merged, sent at batch_size
  sink.Release();
  lead_answered.get_future().get();
  for (auto& a : answers) EXPECT_TRUE(a.get().ok());  // all answered by the one batch
  EXPECT_EQ(otlp::CountRecords(sink.batches[1]), 10);
  EXPECT_EQ(sink.batches[1].tenant(), "acme");
  EXPECT_FALSE(sink.batches[1].batch_id().empty());
}

TEST(BatcherTest, WhatWaitsBehindABatchGoesWhenItIsAnswered) {
  HeldSink sink;
  Batcher batcher({.batch_size = 1000, .batch_timeout = std::chrono::hours(1), .max_in_flight = 1}, &sink);
  batcher.Submit(Logs("acme", 1), [](ingest::SubmitOutcome) {});
  std::promise<void> second, third;
  batcher.Submit(Logs("acme", 3), [&](ingest::SubmitOutcome) { second.set_value(); });
  batcher.Submit(Logs("acme", 4), [&](ingest::SubmitOutcome) { third.set_value(); });
  EXPECT_EQ(sink.sent(), 1u);  // waiting behind the first: neither size nor timeout reached
  sink.Release();              // the ack clocks the next batch out at once
  for (int i = 0; i < 200 && sink.sent() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(sink.sent(), 2u);
  EXPECT_EQ(otlp::CountRecords(sink.batches[1]), 7);
  sink.Release();
  second.get_future().get();
  third.get_future().get();
}

TEST(BatcherTest, UpToMaxInFlightBatchesGoAtOnceThenRequestsMerge) {
  HeldSink sink;
  Batcher batcher({.batch_size = 1000, .batch_timeout = std::chrono::hours(1), .max_in_flight = 3}, &sink);
  for (int i = 0; i < 3; ++i) batcher.Submit(Logs("acme", 1), [](ingest::SubmitOutcome) {});
  EXPECT_EQ(sink.sent(), 3u);  // three lanes: none waited
  batcher.Submit(Logs("beta", 1), [](ingest::SubmitOutcome) {});
  EXPECT_EQ(sink.sent(), 4u);  // lanes are per tenant
  std::promise<void> merged;
  batcher.Submit(Logs("acme", 2), [](ingest::SubmitOutcome) {});
  batcher.Submit(Logs("acme", 5), [&](ingest::SubmitOutcome) { merged.set_value(); });
  EXPECT_EQ(sink.sent(), 4u);  // acme has three out: these two wait, merged
  sink.Release();
  for (int i = 0; i < 200 && sink.sent() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(sink.sent(), 5u);
  EXPECT_EQ(otlp::CountRecords(sink.batches[4]), 7);
  sink.Release();
  merged.get_future().get();
}

TEST(BatcherTest, ConcurrentRequestsNeverPutMoreThanMaxInFlightBatchesOut) {
  for (int round = 0; round < 20; ++round) {
    HeldSink sink;
    std::atomic<bool> done{false};
    std::thread releaser;  // answers everything once the checks are made, so the batcher can close
    {
      Batcher batcher({.batch_size = 100000, .batch_timeout = std::chrono::hours(1), .max_in_flight = 2}, &sink);
      std::vector<std::thread> senders;
      std::atomic<int> ready{0};
      for (int t = 0; t < 8; ++t) {
        senders.emplace_back([&] {
          ready.fetch_add(1);
          while (ready.load() < 8) {
          }
          for (int i = 0; i < 10; ++i) batcher.Submit(Logs("acme", 1), [](ingest::SubmitOutcome) {});
        });
      }
      for (auto& t : senders) t.join();
      // EXPECT, not ASSERT: the batcher must still be answered and closed after a failure.
      EXPECT_EQ(sink.sent(), 2u) << "round " << round << ": the rest waits, merged, behind two batches";
      releaser = std::thread([&] {
        while (!done.load()) {
          sink.Release();
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
    }
    done = true;
    releaser.join();
    int64_t records = 0;
    for (const auto& b : sink.batches) records += otlp::CountRecords(b);
    EXPECT_EQ(records, 80);
  }
}

TEST(BatcherTest, TimeoutSendsAPartialBatchAndTenantsStayApart) {
  Sink sink;
  Batcher batcher({.batch_size = 1000, .batch_timeout = std::chrono::milliseconds(50)}, &sink);
  std::promise<void> a, b;
  batcher.Submit(Logs("acme", 3), [&](ingest::SubmitOutcome) { a.set_value(); });
  batcher.Submit(Logs("beta", 4), [&](ingest::SubmitOutcome) { b.set_value(); });
  a.get_future().get();
  b.get_future().get();
  ASSERT_EQ(sink.batches.size(), 2u);
  EXPECT_NE(sink.batches[0].tenant(), sink.batches[1].tenant());
}

TEST(BatcherTest, FailureReachesEveryRequestOfTheBatch) {
  Sink sink;
  sink.outcome = arrow::Status::CapacityError("buffer full");
  Batcher batcher({.batch_size = 4, .batch_timeout = std::chrono::hours(1)}, &sink);
  int failed = 0;
  for (int i = 0; i < 2; ++i) {
    batcher.Submit(Logs("acme", 2), [&](ingest::SubmitOutcome o) { failed += o.status.IsCapacityError(); });
  }
  EXPECT_EQ(failed, 2);
}

TEST(BatcherTest, OversizeRequestIsSplitNeverRejected) {
  auto big = Logs("acme", 100, 1000);  // ~100 KB
  auto parts = SplitBatch(big, 30000);
  ASSERT_GE(parts.size(), 4u);
  int64_t records = 0;
  for (const auto& p : parts) {
    EXPECT_LE(static_cast<int64_t>(p.ByteSizeLong()), 30000);
    records += otlp::CountRecords(p);
  }
  EXPECT_EQ(records, 100);
  Sink sink;
  {
    Batcher batcher({.batch_size = 1000000, .batch_timeout = std::chrono::milliseconds(10), .max_batch_bytes = 30000},
                    &sink);
    std::promise<arrow::Status> answer;
    batcher.Submit(big, [&](ingest::SubmitOutcome o) { answer.set_value(o.status); });
    EXPECT_TRUE(answer.get_future().get().ok());
  }
  int64_t sent = 0;
  for (const auto& b : sink.batches) {
    EXPECT_LE(static_cast<int64_t>(b.ByteSizeLong()), 30000 + 64);
    sent += otlp::CountRecords(b);
  }
  EXPECT_EQ(sent, 100);
}

// Issue #11: tiny records under a large resource. Small on the wire, large once each row carries
// the resource: the batcher splits by that cost, and refuses a request no ingest node could hold.
ingest::v1::BulkBatch TinyRecordsUnderBigResource(int n, size_t attribute_bytes) {
  auto b = Logs("acme", n, 1);
  auto* attr = b.mutable_resource_logs(0)->mutable_resource()->add_attributes();
  attr->set_key("blob");
  attr->mutable_value()->set_string_value(std::string(attribute_bytes, 'r'));
  return b;
}

TEST(BatcherTest, RequestIsSplitByWhatItsRowsRepeat) {
  auto request = TinyRecordsUnderBigResource(100, 10000);  // ~11 KB on the wire, ~1 MB as rows
  ASSERT_LT(request.ByteSizeLong(), 12000u);
  EXPECT_GT(BatchCost(request), 100 * 10000);
  Sink sink;
  {
    Batcher batcher({.batch_size = 1000000, .batch_timeout = std::chrono::milliseconds(10), .max_batch_bytes = 200000},
                    &sink);
    std::promise<arrow::Status> answer;
    batcher.Submit(request, [&](ingest::SubmitOutcome o) { answer.set_value(o.status); });
    EXPECT_TRUE(answer.get_future().get().ok());
  }
  int64_t sent = 0;
  ASSERT_GE(sink.batches.size(), 5u);
  for (const auto& b : sink.batches) {
    EXPECT_LE(BatchCost(b), 200000 + 20000);
    sent += otlp::CountRecords(b);
  }
  EXPECT_EQ(sent, 100);
}

TEST(BatcherTest, RequestNoIngestNodeCouldHoldIsInvalid) {
  Sink sink;
  Batcher batcher({.max_request_cost = 1 << 20}, &sink);
  std::promise<arrow::Status> answer;
  batcher.Submit(TinyRecordsUnderBigResource(1000, 10000),
                 [&](ingest::SubmitOutcome o) { answer.set_value(o.status); });
  auto status = answer.get_future().get();
  ASSERT_TRUE(status.IsInvalid()) << status.ToString();
  EXPECT_NE(status.message().find("processing.buffer.max_size_bytes"), std::string::npos);
  EXPECT_TRUE(sink.batches.empty());
}

}  // namespace
}  // namespace openwit::gateway
