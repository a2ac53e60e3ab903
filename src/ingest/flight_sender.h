#pragma once
// StorageSink over Arrow Flight DoPut to one or more storage nodes (grpc-ingestion.txt 2C and
// section 8): each RecordBatch carries its batch id as app_metadata; storage answers one PutResult
// with that id per batch it made durable. A failing endpoint is marked unhealthy for a while
// (doubling, capped) and the next healthy one is used: failover.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/flight/client.h>

#include "common/metrics.h"
#include "ingest/storage_sink.h"

namespace openwit::ingest {

struct FlightSenderOptions {
  std::vector<std::string> endpoints;  // host:port
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds unhealthy_for{1000};  // first penalty of a failing endpoint
  std::string cluster_token;  // sent with every call (x-openwit-cluster-token): storage refuses calls without it
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class FlightSender final : public StorageSink {
 public:
  explicit FlightSender(FlightSenderOptions options);
  arrow::Status Put(const std::vector<const StoragePut*>& puts,
                    const std::function<void(size_t index)>& on_durable) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Endpoint {
    std::string address;
    std::unique_ptr<arrow::flight::FlightClient> client;
    Clock::time_point unhealthy_until{};
    int failures = 0;
  };
  Endpoint& Pick();
  arrow::Status PutTo(Endpoint& endpoint, const std::vector<const StoragePut*>& puts,
                      const std::function<void(size_t)>& on_durable, std::vector<bool>* confirmed);

  const FlightSenderOptions options_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  prometheus::Histogram& latency_;
  prometheus::Counter& unhealthy_;
  std::mutex mu_;  // one Put at a time per sender
  std::vector<Endpoint> endpoints_;
  size_t next_ = 0;
};

const char* SignalName(v1::Signal signal);

}  // namespace openwit::ingest
