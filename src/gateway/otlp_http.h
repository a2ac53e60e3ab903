#pragma once
// OTLP/HTTP receiver of the gateway: POST /v1/logs, /v1/traces, /v1/metrics with
// application/x-protobuf or application/json (OTLP's JSON: hex trace and span ids, lowerCamelCase
// names, int64 as strings, enums by name or number), optionally compressed (gzip, deflate, zstd;
// the size limit holds for the decompressed body too). Requests are decompressed and decoded on the
// CPU pool, never on the HTTP I/O threads. Each request
// becomes one bulk batch for the ingest node; the answer goes back once the ingest node acked it
// (its short WAL is durable). Backpressure is 429 with Retry-After.
//
// Bad records are rejected one by one with OTLP partial success (intake.h).
// Credentials map to tenants (auth.h; 401 without a known key); per-tenant quotas answer 429.
// Not yet here (issue #4): batching of several requests into one bulk batch.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/http_server.h"
#include "gateway/auth.h"
#include "ingest/ingest_pipeline.h"

namespace openwit::gateway {

// Where the gateway sends a batch: the ingest pipeline in this process or a BulkIngest client.
using IngestSubmit = std::function<void(ingest::v1::BulkBatch, ingest::SubmitCallback)>;

class OtlpHttpReceiver {
 public:
  // `auth` and `quotas` must outlive the receiver. `max_body_bytes` bounds a body once decompressed
  // (the HTTP server bounds it as sent).
  OtlpHttpReceiver(std::string node_id, IngestSubmit submit, Authenticator* auth, QuotaLimiter* quotas,
                   size_t max_body_bytes);
  ~OtlpHttpReceiver();
  // Adds the three routes to `server`.
  void Register(HttpServer* server);
  // Waits until every request taken is decoded and submitted (or answered): call once the server has
  // stopped, before what `submit` reaches goes away.
  void Drain();

 private:
  void Handle(ingest::v1::Signal signal, const HttpRequest& request, HttpResponder respond);
  void TaskDone();
  const std::string node_id_;
  IngestSubmit submit_;
  Authenticator* auth_;
  QuotaLimiter* quotas_;
  const size_t max_body_bytes_;
  std::atomic<uint64_t> next_batch_{1};
  std::mutex tasks_mu_;
  std::condition_variable tasks_cv_;
  int64_t tasks_ = 0;  // requests handed to the CPU pool and not yet through Handle
};

// OTLP JSON bodies nest at most this many objects and arrays (protobuf's own recursion limit for
// the binary form is 100 messages); deeper bodies are refused before anything recurses over them.
constexpr int kMaxOtlpJsonDepth = 100;

// Decodes an OTLP export request of `signal` (a body of `content_type`: application/x-protobuf
// or application/json) into a bulk batch: the records are moved, not copied. The OTLP/gRPC
// receiver passes its request bytes as application/x-protobuf.
arrow::Status DecodeOtlp(ingest::v1::Signal signal, const std::string& content_type, std::string_view body,
                         ingest::v1::BulkBatch* batch);

}  // namespace openwit::gateway
