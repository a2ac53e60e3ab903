#pragma once
// Gateway batching ("The common ingestion path" step 2), clocked by acks: a request of a tenant
// and signal with fewer than max_in_flight batches in flight to the ingest nodes goes at once;
// while that many are in flight, requests are merged into the next bulk batch, sent when one in
// flight is answered, at ingestion.batching.batch_size records, or after batch_timeout_ms,
// whichever comes first. So a
// lone client never waits for the timeout, and under load batches grow by themselves; each request is answered with the
// outcome of the batch that carries it, so no request is acked before the short WAL holds it. A batch never grows past
// the gRPC max message size less headroom for Arrow metadata (seeds' guardrail), counting what its rows will repeat
// (BatchCost): a request too large for one batch is split, never rejected.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "ingest/ingest_sink.h"

namespace openwit::gateway {

struct BatcherOptions {
  int64_t batch_size = 1000;
  std::chrono::milliseconds batch_timeout{100};
  int64_t max_batch_bytes = 48ll << 20;
  std::string node_id = "openwit-1";
  int max_in_flight = 4;  // per tenant and signal
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
  // A request whose BatchCost is above this could never be held by an ingest node at once (its ack
  // waits for all its parts): refused as invalid. 0: no limit.
  int64_t max_request_cost = 0;
};

// An IngestSink in front of another: the ingest pipeline of this process or a BulkIngestClient.
class Batcher final : public ingest::IngestSink {
 public:
  // `next` must outlive the batcher.
  Batcher(BatcherOptions options, ingest::IngestSink* next);
  ~Batcher() override;  // sends what is pending and waits for the answers

  // `done` runs once, with the outcome of the batch(es) carrying the request's records.
  void Submit(ingest::v1::BulkBatch request, ingest::SubmitCallback done) override;

 private:
  struct Pending {
    ingest::v1::BulkBatch batch;
    int64_t records = 0;
    int64_t bytes = 0;
    std::vector<ingest::SubmitCallback> waiters;
    std::chrono::steady_clock::time_point opened;
    bool send_now = false;  // a batch in flight was answered: the timer thread dispatches this one
  };
  using Key = std::pair<std::string, int>;  // tenant, signal
  void Add(ingest::v1::BulkBatch part, int64_t records, int64_t bytes, ingest::SubmitCallback done);
  // Sends a batch counted in in_flight_ and total_in_flight_ by the caller (under mu_).
  void Send(Pending pending);
  void TimerLoop();

  const BatcherOptions options_;
  ingest::IngestSink* next_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& created_;
  prometheus::Histogram& size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, Pending> pending_;
  std::map<Key, int> in_flight_;  // batches sent and not yet answered, per tenant and signal
  int total_in_flight_ = 0;
  std::condition_variable idle_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread timer_;
};

// What a batch counts against max_batch_bytes: its wire size plus what its rows repeat once each
// carries its resource and scope (otlp::RepeatedBytes), so that tiny records under huge
// attributes travel in parts an ingest node can hold in memory.
int64_t BatchCost(const ingest::v1::BulkBatch& batch);

// Splits a batch into parts of at most `max_bytes` of BatchCost (by records; a single record larger than that
// travels alone). Returns the batch itself when it fits.
std::vector<ingest::v1::BulkBatch> SplitBatch(const ingest::v1::BulkBatch& batch, int64_t max_bytes);

}  // namespace openwit::gateway
