#pragma once
// OTLP/HTTP receiver of the gateway: POST /v1/logs, /v1/traces, /v1/metrics with
// application/x-protobuf or application/json (decoded by otlp/export_request.h), optionally
// gzip-compressed. Each request becomes one bulk batch for the ingest node; the answer goes back
// once the ingest node acked it (its short WAL is durable). Backpressure is 429 with Retry-After.
//
// Bad records are rejected one by one with OTLP partial success (intake.h).
// Credentials map to tenants (auth.h; 401 without a known key); per-tenant quotas answer 429.
// Not yet here (issue #4): batching of several requests into one bulk batch.

#include <atomic>
#include <memory>
#include <string>

#include "common/http_server.h"
#include "common/metrics.h"
#include "gateway/auth.h"
#include "gateway/intake.h"
#include "ingest/ingest_sink.h"

namespace openwit::gateway {

class OtlpHttpReceiver {
 public:
  // `sink` (where batches go: the Batcher), `auth` and `quotas` must outlive the receiver;
  // `metrics` is the node's (null: a registry of its own).
  OtlpHttpReceiver(std::string node_id, ingest::IngestSink* sink, Authenticator* auth, QuotaLimiter* quotas,
                   std::shared_ptr<MetricsRegistry> metrics);
  // Adds the three routes to `server`.
  void Register(HttpServer* server);

 private:
  void Handle(ingest::v1::Signal signal, const HttpRequest& request, HttpResponder respond);
  const std::string node_id_;
  ingest::IngestSink* sink_;
  Authenticator* auth_;
  QuotaLimiter* quotas_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  const Intake intake_;
  prometheus::Counter& rejected_;
  std::atomic<uint64_t> next_batch_{1};
};

}  // namespace openwit::gateway
