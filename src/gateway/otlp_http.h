#pragma once
// OTLP/HTTP receiver of the gateway: POST /v1/logs, /v1/traces, /v1/metrics with
// application/x-protobuf or application/json (decoded by otlp/export_request.h), optionally
// compressed (gzip, deflate, zstd; the size limit holds for the decompressed body too). Requests
// are decompressed and decoded on the CPU pool, never on the HTTP I/O threads. Each request
// becomes one bulk batch for the ingest node; the answer goes back once the ingest node acked it
// (its short WAL is durable). Backpressure is 429 with Retry-After.
//
// Bad records are rejected one by one with OTLP partial success (intake.h).
// Credentials map to tenants (auth.h; 401 without a known key); per-tenant quotas answer 429.
// Not yet here (issue #4): batching of several requests into one bulk batch.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "common/http_server.h"
#include "common/metrics.h"
#include "gateway/auth.h"
#include "gateway/intake.h"
#include "ingest/ingest_sink.h"

namespace openwit::gateway {

class OtlpHttpReceiver {
 public:
  // `sink` (where batches go: the Batcher), `auth` and `quotas` must outlive the receiver.
  // `max_body_bytes` bounds a body once decompressed (the HTTP server bounds it as sent);
  // `metrics` is the node's (null: a registry of its own).
  OtlpHttpReceiver(std::string node_id, ingest::IngestSink* sink, Authenticator* auth, QuotaLimiter* quotas,
                   size_t max_body_bytes, std::shared_ptr<MetricsRegistry> metrics);
  ~OtlpHttpReceiver();
  // Adds the three routes to `server`.
  void Register(HttpServer* server);
  // Waits until every request taken is decoded and submitted (or answered): call once the server has
  // stopped, before what `sink` reaches goes away.
  void Drain();

 private:
  void Handle(ingest::v1::Signal signal, const HttpRequest& request, HttpResponder respond);
  void TaskDone();
  const std::string node_id_;
  ingest::IngestSink* sink_;
  Authenticator* auth_;
  QuotaLimiter* quotas_;
  const size_t max_body_bytes_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  const Intake intake_;
  // otlp.http.rejected, by reason: a bounded label set.
  struct Rejections {
    explicit Rejections(MetricsRegistry& m);
    prometheus::Counter &unauthenticated, &too_large, &bad_encoding, &bad_body, &over_quota, &refused_by_ingest;
  };
  const Rejections rejected_;
  std::atomic<uint64_t> next_batch_{1};
  std::mutex tasks_mu_;
  std::condition_variable tasks_cv_;
  int64_t tasks_ = 0;  // requests handed to the CPU pool and not yet through Handle
};

}  // namespace openwit::gateway
