#include "gateway/otlp_http.h"

#include <arrow/util/thread_pool.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/decompress.h"
#include "otlp/export_request.h"
#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

using ingest::v1::BulkBatch;
using ingest::v1::Signal;

std::string MediaType(const std::string& header) {
  std::string t = header.substr(0, header.find(';'));
  t.erase(t.find_last_not_of(" \t") + 1);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

HttpResponse Error(int status, const std::string& message, bool json) {
  // OTLP/HTTP errors carry a google.rpc.Status; its message is what a client shows.
  if (json) return HttpResponse::Json(status, nlohmann::json{{"code", status}, {"message", message}}.dump());
  return HttpResponse::Text(status, message + "\n");
}

}  // namespace

OtlpHttpReceiver::Rejections::Rejections(MetricsRegistry& m)
    : unauthenticated(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "unauthenticated"}})),
      too_large(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "too_large"}})),
      bad_encoding(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "bad_encoding"}})),
      bad_body(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "bad_body"}})),
      over_quota(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "quota"}})),
      refused_by_ingest(m.Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", "ingest"}})) {}

OtlpHttpReceiver::OtlpHttpReceiver(std::string node_id, ingest::IngestSink* sink, Authenticator* auth,
                                   QuotaLimiter* quotas, size_t max_body_bytes,
                                   std::shared_ptr<MetricsRegistry> metrics)
    : node_id_(std::move(node_id)),
      sink_(sink),
      auth_(auth),
      quotas_(quotas),
      max_body_bytes_(max_body_bytes),
      metrics_(OwnRegistryIfNone(std::move(metrics))),
      intake_(*metrics_),
      rejected_(*metrics_) {}

void OtlpHttpReceiver::Register(HttpServer* server) {
  for (auto [path, signal] :
       {std::pair{"/v1/logs", ingest::v1::SIGNAL_LOGS}, std::pair{"/v1/traces", ingest::v1::SIGNAL_TRACES},
        std::pair{"/v1/metrics", ingest::v1::SIGNAL_METRICS}}) {
    server->Route("POST", path, [this, signal](HttpRequest request, HttpResponder respond) {
      // Decompressing and decoding take CPU in proportion to what a client sent: never on the
      // HTTP I/O threads, where they would stall every other connection.
      {
        std::lock_guard lock(tasks_mu_);
        ++tasks_;
      }
      auto spawned =
          arrow::internal::GetCpuThreadPool()->Spawn([this, signal, request = std::move(request), respond]() mutable {
            Handle(signal, request, respond);
            TaskDone();
          });
      if (!spawned.ok()) {
        respond(HttpResponse::Text(503, "shutting down\n"));
        TaskDone();
      }
    });
  }
}

OtlpHttpReceiver::~OtlpHttpReceiver() { Drain(); }

void OtlpHttpReceiver::TaskDone() {
  std::lock_guard lock(tasks_mu_);
  if (--tasks_ == 0) tasks_cv_.notify_all();
}

void OtlpHttpReceiver::Drain() {
  std::unique_lock lock(tasks_mu_);
  tasks_cv_.wait(lock, [this] { return tasks_ == 0; });
}

void OtlpHttpReceiver::Handle(Signal signal, const HttpRequest& request, HttpResponder respond) {
  const std::string content_type = MediaType(request.Header("content-type"));
  const bool json = content_type == "application/json";
  auto fail = [&](prometheus::Counter& counter, int status, const std::string& message) {
    counter.Increment();
    respond(Error(status, message, json));
  };
  std::string why;
  auto tenant = auth_->Authenticate(request.Header("authorization"), request.Header("x-api-key"), &why);
  if (!tenant) {
    rejected_.unauthenticated.Increment();
    HttpResponse r = Error(401, why, json);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return respond(std::move(r));
  }
  const std::string& encoding = request.Header("content-encoding");
  std::string inflated;
  const std::string* body = &request.body;
  if (!encoding.empty() && encoding != "identity") {
    // The size limit holds for what the body inflates to: inflating stops as soon as it passes it.
    auto out = DecompressBody(encoding, request.body, max_body_bytes_);
    if (!out.ok()) {
      const auto& s = out.status();
      if (s.IsCapacityError()) return fail(rejected_.too_large, 413, s.message());
      return fail(rejected_.bad_encoding, s.IsNotImplemented() ? 415 : 400, s.message());
    }
    inflated = std::move(*out);
    body = &inflated;
  }
  BulkBatch batch;
  if (auto status = otlp::DecodeExportRequest(signal, content_type, *body, &batch); !status.ok()) {
    return fail(rejected_.bad_body, status.IsTypeError() ? 415 : 400, status.message());
  }
  batch.set_tenant(*tenant);
  batch.set_batch_id(fmt::format("{}-http-{}", node_id_, next_batch_++));
  // Bad records are dropped here and named in the answer; the good ones go on.
  auto validation = std::make_shared<Validation>(intake_.Admit(&batch));
  int64_t retry_after_ms = 0;
  if (auto s = quotas_->Admit(*tenant, otlp::CountRecords(batch), static_cast<int64_t>(body->size()), &retry_after_ms);
      !s.ok()) {
    rejected_.over_quota.Increment();
    HttpResponse r = Error(429, s.message(), json);
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (retry_after_ms + 999) / 1000)));
    return respond(std::move(r));
  }
  auto answer = [respond, json, signal, validation] {
    HttpResponse r = HttpResponse::Json(200, ExportResponseBody(signal, *validation, json));
    if (!json) r.content_type = "application/x-protobuf";
    respond(std::move(r));
  };
  if (otlp::CountRecords(batch) == 0) return answer();
  // The response waits for the ingest node's ack: the short WAL holds the records by then.
  sink_->Submit(
      std::move(batch), [respond, json, answer, refused = &rejected_.refused_by_ingest](ingest::SubmitOutcome outcome) {
        const auto& s = outcome.status;
        if (s.ok()) return answer();
        refused->Increment();
        int status = s.IsInvalid() ? 400 : s.IsCapacityError() ? 429 : s.IsCancelled() || s.IsIOError() ? 503 : 500;
        HttpResponse r = Error(status, s.message(), json);
        if (status == 429 || status == 503) {
          r.headers.emplace_back("Retry-After",
                                 std::to_string(std::max<int64_t>(1, (outcome.retry_after_ms + 999) / 1000)));
        }
        respond(std::move(r));
      });
}

}  // namespace openwit::gateway
