#pragma once
// OTLP/gRPC receiver of the gateway (grpc-ingestion.txt sections 3-4): the Logs, Trace and Metrics
// Export services of OpenTelemetry, so any SDK or collector sends to it unmodified. The `grpc:`
// block sets binding, message sizes, keepalive and connection lifetimes, concurrency, which
// signals are accepted (a disabled one answers UNIMPLEMENTED), compression and TLS. Each Export
// becomes one bulk batch; the answer waits for the ingest node's ack (short WAL durable).
//
// Bad records are rejected one by one with OTLP partial success (intake.h).
// Credentials map to tenants (auth.h; UNAUTHENTICATED without a known key); per-tenant quotas
// answer RESOURCE_EXHAUSTED. Requests are merged into bulk batches by the Batcher behind it.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <arrow/status.h>
#include <grpcpp/grpcpp.h>

#include "common/config.h"
#include "common/metrics.h"
#include "gateway/auth.h"
#include "gateway/intake.h"
#include "ingest/ingest_sink.h"

namespace openwit::gateway {

class OtlpGrpcReceiver {
 public:
  // `sink` (where batches go: the Batcher), `auth` and `quotas` must outlive the receiver;
  // `metrics` is the node's (null: a registry of its own).
  OtlpGrpcReceiver(const Config& config, ingest::IngestSink* sink, Authenticator* auth, QuotaLimiter* quotas,
                   std::shared_ptr<MetricsRegistry> metrics);
  ~OtlpGrpcReceiver();
  arrow::Status Start();
  void Stop();
  int port() const { return port_; }

  // Shared by the three services: one Export call (its serialized request) into one bulk batch.
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx, ingest::v1::Signal signal, bool enabled,
                                   const grpc::ByteBuffer& request, grpc::ByteBuffer* response);

 private:
  const Config config_;
  ingest::IngestSink* sink_;
  Authenticator* auth_;
  QuotaLimiter* quotas_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  const Intake intake_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> next_batch_{1};
  int port_ = 0;
};

}  // namespace openwit::gateway
