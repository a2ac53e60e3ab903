#include "gateway/otlp_http.h"

#include <zlib.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "otlp/export_request.h"
#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

using ingest::v1::BulkBatch;
using ingest::v1::Signal;

constexpr size_t kMaxDecompressed = 256u << 20;

arrow::Result<std::string> Gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return arrow::Status::UnknownError("zlib init");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return arrow::Status::Invalid("body: Content-Encoding is gzip but the body does not decompress");
    }
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > kMaxDecompressed) {
      inflateEnd(&z);
      return arrow::Status::CapacityError("body: more than ", kMaxDecompressed, " bytes once decompressed");
    }
    if (rc != Z_STREAM_END && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return arrow::Status::Invalid("body: truncated gzip stream");
    }
  }
  inflateEnd(&z);
  return out;
}

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

OtlpHttpReceiver::OtlpHttpReceiver(std::string node_id, ingest::IngestSink* sink, Authenticator* auth,
                                   QuotaLimiter* quotas, std::shared_ptr<MetricsRegistry> metrics)
    : node_id_(std::move(node_id)),
      sink_(sink),
      auth_(auth),
      quotas_(quotas),
      metrics_(OwnRegistryIfNone(std::move(metrics))),
      intake_(*metrics_),
      rejected_(metrics_->Counter("otlp.http.rejected", "OTLP/HTTP requests refused")) {}

void OtlpHttpReceiver::Register(HttpServer* server) {
  for (auto [path, signal] :
       {std::pair{"/v1/logs", ingest::v1::SIGNAL_LOGS}, std::pair{"/v1/traces", ingest::v1::SIGNAL_TRACES},
        std::pair{"/v1/metrics", ingest::v1::SIGNAL_METRICS}}) {
    server->Route("POST", path, [this, signal](const HttpRequest& request, HttpResponder respond) {
      Handle(signal, request, std::move(respond));
    });
  }
}

void OtlpHttpReceiver::Handle(Signal signal, const HttpRequest& request, HttpResponder respond) {
  const std::string content_type = MediaType(request.Header("content-type"));
  const bool json = content_type == "application/json";
  auto fail = [&](int status, const std::string& message) {
    rejected_.Increment();
    respond(Error(status, message, json));
  };
  std::string why;
  auto tenant = auth_->Authenticate(request.Header("authorization"), request.Header("x-api-key"), &why);
  if (!tenant) {
    rejected_.Increment();
    HttpResponse r = Error(401, why, json);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return respond(std::move(r));
  }
  const std::string& encoding = request.Header("content-encoding");
  std::string inflated;
  const std::string* body = &request.body;
  if (encoding == "gzip") {
    auto out = Gunzip(request.body);
    if (!out.ok()) return fail(out.status().IsCapacityError() ? 413 : 400, out.status().message());
    inflated = std::move(*out);
    body = &inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    return fail(415, "Content-Encoding \"" + encoding + "\" is not supported: use gzip or none");
  }
  BulkBatch batch;
  if (auto status = otlp::DecodeExportRequest(signal, content_type, *body, &batch); !status.ok()) {
    return fail(status.IsTypeError() ? 415 : 400, status.message());
  }
  batch.set_tenant(*tenant);
  batch.set_batch_id(fmt::format("{}-http-{}", node_id_, next_batch_++));
  // Bad records are dropped here and named in the answer; the good ones go on.
  auto validation = std::make_shared<Validation>(intake_.Admit(&batch));
  int64_t retry_after_ms = 0;
  if (auto s = quotas_->Admit(*tenant, otlp::CountRecords(batch), static_cast<int64_t>(body->size()), &retry_after_ms);
      !s.ok()) {
    rejected_.Increment();
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
  sink_->Submit(std::move(batch), [respond, json, answer](ingest::SubmitOutcome outcome) {
    const auto& s = outcome.status;
    if (s.ok()) return answer();
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
