#include "gateway/otlp_grpc.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp/export_request.h"
#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

namespace collector = opentelemetry::proto::collector;
using ingest::v1::BulkBatch;

// The three Export services take their request raw: DecodeExportRequest moves its records into the bulk
// batch (the generated handler's request is const: it could only be copied, a second full
// allocation of every record).
template <class Service, ingest::v1::Signal kSignal>
class RawExportService final : public Service::template WithRawCallbackMethod_Export<typename Service::Service> {
 public:
  RawExportService(OtlpGrpcReceiver* r, bool enabled) : r_(r), enabled_(enabled) {}
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    return r_->Export(ctx, kSignal, enabled_, *request, response);
  }

 private:
  OtlpGrpcReceiver* r_;
  bool enabled_;
};

arrow::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return arrow::Status::IOError("cannot read ", path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

OtlpGrpcReceiver::OtlpGrpcReceiver(const Config& config, ingest::IngestSink* sink, Authenticator* auth,
                                   QuotaLimiter* quotas, std::shared_ptr<MetricsRegistry> metrics)
    : config_(config),
      sink_(sink),
      auth_(auth),
      quotas_(quotas),
      metrics_(OwnRegistryIfNone(std::move(metrics))),
      intake_(*metrics_) {}

OtlpGrpcReceiver::~OtlpGrpcReceiver() { Stop(); }

grpc::ServerUnaryReactor* OtlpGrpcReceiver::Export(grpc::CallbackServerContext* ctx, ingest::v1::Signal signal,
                                                   bool enabled, const grpc::ByteBuffer& request,
                                                   grpc::ByteBuffer* response) {
  auto* reactor = ctx->DefaultReactor();
  if (!enabled) {
    const char* name = signal == ingest::v1::SIGNAL_LOGS     ? "logs"
                       : signal == ingest::v1::SIGNAL_TRACES ? "traces"
                                                             : "metrics";
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                     fmt::format("OTLP {} are disabled on this receiver (grpc.otlp_{}_enabled)", name, name)));
    return reactor;
  }
  auto metadata = [&](const char* name) {
    auto it = ctx->client_metadata().find(name);
    return it == ctx->client_metadata().end() ? std::string() : std::string(it->second.data(), it->second.size());
  };
  std::string why;
  auto tenant = auth_->Authenticate(metadata("authorization"), metadata("x-api-key"), &why);
  if (!tenant) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why));
    return reactor;
  }
  if (in_flight_.fetch_add(1) >= config_.grpc.max_concurrent_requests) {
    in_flight_.fetch_sub(1);
    ctx->AddTrailingMetadata("retry-after-ms", "1000");
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 fmt::format("more than {} requests in progress (grpc.max_concurrent_requests)",
                                             config_.grpc.max_concurrent_requests)));
    return reactor;
  }
  auto finish = [&](const grpc::Status& status) {
    in_flight_.fetch_sub(1);
    reactor->Finish(status);
    return reactor;
  };
  std::string wire;
  if (auto read = ReadRawRequest(request, &wire); !read.ok()) return finish(read);
  BulkBatch batch;
  if (auto decoded = otlp::DecodeExportRequest(signal, "application/x-protobuf", wire, &batch); !decoded.ok()) {
    return finish(ToGrpcStatus(decoded));
  }
  batch.set_tenant(*tenant);
  batch.set_batch_id(fmt::format("{}-grpc-{}", config_.node.id, next_batch_++));
  // Bad records are dropped here and named in the partial success; the good ones go on.
  *response = RawResponse(ExportResponseBody(signal, intake_.Admit(&batch), /*json=*/false));
  int64_t retry_after_ms = 0;
  const int64_t records = otlp::CountRecords(batch);
  if (auto s = quotas_->Admit(*tenant, records, static_cast<int64_t>(wire.size()), &retry_after_ms); !s.ok()) {
    ctx->AddTrailingMetadata("retry-after-ms", std::to_string(retry_after_ms));
    return finish(ToGrpcStatus(s));
  }
  if (records == 0) return finish(grpc::Status::OK);
  // The answer waits for the ingest node's ack: the short WAL holds the records by then.
  sink_->Submit(std::move(batch), [this, ctx, reactor](ingest::SubmitOutcome outcome) {
    if (outcome.retry_after_ms > 0) ctx->AddTrailingMetadata("retry-after-ms", std::to_string(outcome.retry_after_ms));
    in_flight_.fetch_sub(1);
    reactor->Finish(ToGrpcStatus(outcome.status));
  });
  return reactor;
}

arrow::Status OtlpGrpcReceiver::Start() {
  const auto& g = config_.grpc;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (g.tls.enabled) {
    ARROW_RETURN_NOT_OK(ReadFile(g.tls.cert_path));
    ARROW_RETURN_NOT_OK(ReadFile(g.tls.key_path));
    // gRPC's own watcher reads the pair again every reload_interval_seconds and serves new
    // handshakes with it when it changed: a renewed certificate needs no restart. (Replace the two
    // files at once, by renaming a directory or a symlink, so that it never reads a mixed pair.)
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        g.tls.key_path, g.tls.cert_path, static_cast<unsigned int>(g.tls.reload_interval_seconds));
    grpc::experimental::TlsServerCredentialsOptions tls(provider);
    tls.watch_identity_key_cert_pairs();
    credentials = grpc::experimental::TlsServerCredentials(tls);
  }
  grpc::ServerBuilder builder;
  const std::string address = fmt::format("{}:{}", g.bind, g.port);
  builder.AddListeningPort(address, credentials, &port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(g.MaxReceiveBytes()));
  builder.SetMaxSendMessageSize(static_cast<int>(g.max_send_message_size_mb << 20));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(std::min(g.max_concurrent_streams, config_.proxy.grpc.max_concurrent_streams)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(g.keepalive_time_ms));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(g.keepalive_timeout_ms));
  if (g.max_connection_idle_seconds > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, static_cast<int>(g.max_connection_idle_seconds * 1000));
  }
  if (g.max_connection_age_seconds > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, static_cast<int>(g.max_connection_age_seconds * 1000));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(g.max_connection_age_grace_seconds * 1000));
  }
  // Request compressions: identity always; gzip and deflate when listed. gRPC C++ has no zstd.
  uint32_t algorithms = 1u << GRPC_COMPRESS_NONE;
  if (g.compression_enabled) {
    for (const auto& a : g.accepted_compression_algorithms) {
      if (a == "gzip") algorithms |= 1u << GRPC_COMPRESS_GZIP;
      if (a == "deflate") algorithms |= 1u << GRPC_COMPRESS_DEFLATE;
      if (a == "zstd")
        spdlog::warn("grpc.accepted_compression_algorithms: zstd is not available in this gRPC build; gzip is");
    }
  }
  builder.AddChannelArgument(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET, static_cast<int>(algorithms));
  services_.push_back(std::make_unique<RawExportService<collector::logs::v1::LogsService, ingest::v1::SIGNAL_LOGS>>(
      this, g.otlp_logs_enabled));
  services_.push_back(std::make_unique<RawExportService<collector::trace::v1::TraceService, ingest::v1::SIGNAL_TRACES>>(
      this, g.otlp_traces_enabled));
  services_.push_back(
      std::make_unique<RawExportService<collector::metrics::v1::MetricsService, ingest::v1::SIGNAL_METRICS>>(
          this, g.otlp_metrics_enabled));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) return arrow::Status::IOError("otlp-grpc: cannot listen on ", address);
  return arrow::Status::OK();
}

void OtlpGrpcReceiver::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.reset();
  }
}

}  // namespace openwit::gateway
