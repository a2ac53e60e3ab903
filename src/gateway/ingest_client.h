#pragma once
// The gateway's client of the ingest nodes' BulkIngest service (ingest.endpoints), round-robin
// over the healthy ones, asynchronous: the caller's callback runs when an ingest node answers.
// A node that cannot be reached (UNAVAILABLE) is marked unhealthy for a while and the batch goes to
// the next node at once; every node is tried at most once per batch. gRPC status codes map back to
// the pipeline's outcomes (RESOURCE_EXHAUSTED -> CapacityError with its retry hint). Every call
// carries the cluster token: the ingest nodes refuse calls without it.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "ingest/ingest_sink.h"
#include "openwit/ingest.grpc.pb.h"

namespace openwit::gateway {

// The remote implementation of the IngestSink seam (ingest/ingest_sink.h).
class BulkIngestClient final : public ingest::IngestSink {
 public:
  // `metrics` is the node's (null: a registry of its own).
  BulkIngestClient(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout, int max_message_bytes,
                   std::string cluster_token, std::shared_ptr<MetricsRegistry> metrics,
                   std::chrono::milliseconds unhealthy_for = std::chrono::seconds(2));
  ~BulkIngestClient() override;  // waits for the calls in flight (their callbacks use this object)
  void Submit(ingest::v1::BulkBatch batch, ingest::SubmitCallback done) override;

 private:
  struct Batch;
  void Attempt(std::shared_ptr<Batch> batch);
  size_t PickEndpoint();

  std::vector<std::unique_ptr<ingest::v1::BulkIngest::Stub>> stubs_;
  std::vector<std::string> endpoints_;
  const std::string cluster_token_;
  std::unique_ptr<std::atomic<int64_t>[]> unhealthy_until_ms_;  // steady-clock ms, per endpoint
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds unhealthy_for_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Counter& failovers_;
  std::atomic<size_t> next_{0};
  std::mutex mu_;
  std::condition_variable idle_;
  size_t in_flight_ = 0;  // batches submitted and not yet answered
};

}  // namespace openwit::gateway
