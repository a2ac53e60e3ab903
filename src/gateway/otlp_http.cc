#include "gateway/otlp_http.h"

#include <arrow/util/thread_pool.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "common/decompress.h"
#include "common/metrics.h"
#include "gateway/intake.h"
#include "ingest/otlp_records.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace openwit::gateway {
namespace {

using ingest::v1::BulkBatch;
using ingest::v1::Signal;
namespace collector = opentelemetry::proto::collector;

std::string Base64(const std::string& bytes) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {kTable[v >> 18], kTable[(v >> 12) & 63], kTable[(v >> 6) & 63], kTable[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += {kTable[v >> 18], kTable[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kTable[v >> 18], kTable[(v >> 12) & 63], kTable[(v >> 6) & 63], '='};
  }
  return out;
}

// OTLP's JSON writes trace and span ids in hex where protobuf's JSON expects base64.
arrow::Status HexIdsToBase64(nlohmann::json& j, const std::string& path) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      const std::string here = path.empty() ? key : path + "." + key;
      if ((key == "traceId" || key == "spanId" || key == "parentSpanId") && value.is_string()) {
        const std::string hex = value.get<std::string>();
        if (hex.size() % 2 != 0) return arrow::Status::Invalid(here, ": \"", hex, "\" is not hex");
        std::string bytes;
        for (size_t i = 0; i < hex.size(); i += 2) {
          auto nibble = [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c))
                       ? (std::isdigit(c) ? c - '0' : (std::tolower(c) - 'a' + 10))
                       : -1;
          };
          int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
          if (hi < 0 || lo < 0) return arrow::Status::Invalid(here, ": \"", hex, "\" is not hex");
          bytes.push_back(static_cast<char>(hi * 16 + lo));
        }
        value = Base64(bytes);
      } else {
        ARROW_RETURN_NOT_OK(HexIdsToBase64(value, here));
      }
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) ARROW_RETURN_NOT_OK(HexIdsToBase64(j[i], fmt::format("{}[{}]", path, i)));
  }
  return arrow::Status::OK();
}

// Where a JSON text nests deeper than `max_depth` objects and arrays, the byte offset of the bracket
// that does; -1 when it does not. One pass, no recursion: it runs before anything that recurses.
int64_t JsonTooDeepAt(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return static_cast<int64_t>(i);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return -1;
}

template <class Request>
arrow::Status Parse(const std::string& content_type, std::string_view body, Request* request) {
  if (content_type == "application/x-protobuf" || content_type == "application/protobuf") {
    if (body.size() > static_cast<size_t>(INT32_MAX) ||
        !request->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return arrow::Status::Invalid("body: not a valid OTLP protobuf message");
    }
    return arrow::Status::OK();
  }
  if (content_type == "application/json") {
    // Our own walk below and the JSON library's dump recurse: bound them before they run.
    if (int64_t at = JsonTooDeepAt(body, kMaxOtlpJsonDepth); at >= 0) {
      return arrow::Status::Invalid("body: JSON nested deeper than ", kMaxOtlpJsonDepth, " levels (at byte ", at, ")");
    }
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return arrow::Status::Invalid("body: not valid JSON");
    ARROW_RETURN_NOT_OK(HexIdsToBase64(j, ""));
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // newer OTLP fields must not break older servers
    auto status = google::protobuf::util::JsonStringToMessage(j.dump(), request, options);
    if (!status.ok()) return arrow::Status::Invalid("body: ", std::string(status.message()));
    return arrow::Status::OK();
  }
  return arrow::Status::TypeError("Content-Type \"", content_type,
                                  "\" is not supported: use application/x-protobuf or application/json");
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

arrow::Status DecodeOtlp(Signal signal, const std::string& content_type, std::string_view body, BulkBatch* batch) {
  batch->set_signal(signal);
  switch (signal) {
    case ingest::v1::SIGNAL_LOGS: {
      collector::logs::v1::ExportLogsServiceRequest request;
      ARROW_RETURN_NOT_OK(Parse(content_type, body, &request));
      batch->mutable_resource_logs()->Swap(request.mutable_resource_logs());
      return arrow::Status::OK();
    }
    case ingest::v1::SIGNAL_TRACES: {
      collector::trace::v1::ExportTraceServiceRequest request;
      ARROW_RETURN_NOT_OK(Parse(content_type, body, &request));
      batch->mutable_resource_spans()->Swap(request.mutable_resource_spans());
      return arrow::Status::OK();
    }
    case ingest::v1::SIGNAL_METRICS: {
      collector::metrics::v1::ExportMetricsServiceRequest request;
      ARROW_RETURN_NOT_OK(Parse(content_type, body, &request));
      batch->mutable_resource_metrics()->Swap(request.mutable_resource_metrics());
      return arrow::Status::OK();
    }
    default:
      return arrow::Status::Invalid("signal: unspecified");
  }
}

OtlpHttpReceiver::OtlpHttpReceiver(std::string node_id, IngestSubmit submit, Authenticator* auth, QuotaLimiter* quotas,
                                   size_t max_body_bytes)
    : node_id_(std::move(node_id)),
      submit_(std::move(submit)),
      auth_(auth),
      quotas_(quotas),
      max_body_bytes_(max_body_bytes) {}

void OtlpHttpReceiver::Register(HttpServer* server) {
  for (auto [path, signal] :
       {std::pair{"/v1/logs", ingest::v1::SIGNAL_LOGS}, std::pair{"/v1/traces", ingest::v1::SIGNAL_TRACES},
        std::pair{"/v1/metrics", ingest::v1::SIGNAL_METRICS}}) {
    // `signal = signal`: clang 14 (the fuzz build) cannot capture a structured binding by name.
    server->Route("POST", path, [this, signal = signal](HttpRequest request, HttpResponder respond) {
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

namespace {

// OTLP/HTTP requests refused, by reason; a bounded label set.
prometheus::Counter& Rejected(const char* reason) {
  return MetricsRegistry::Default().Counter("otlp.http.rejected", "OTLP/HTTP requests refused", {{"reason", reason}});
}

}  // namespace

void OtlpHttpReceiver::Handle(Signal signal, const HttpRequest& request, HttpResponder respond) {
  static auto& unauthenticated = Rejected("unauthenticated");
  static auto& too_large = Rejected("too_large");
  static auto& bad_encoding = Rejected("bad_encoding");
  static auto& bad_body = Rejected("bad_body");
  static auto& over_quota = Rejected("quota");
  static auto& refused_by_ingest = Rejected("ingest");
  const std::string content_type = MediaType(request.Header("content-type"));
  const bool json = content_type == "application/json";
  auto fail = [&](prometheus::Counter& counter, int status, const std::string& message) {
    counter.Increment();
    respond(Error(status, message, json));
  };
  std::string why;
  auto tenant = auth_->Authenticate(request.Header("authorization"), request.Header("x-api-key"), &why);
  if (!tenant) {
    unauthenticated.Increment();
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
      if (s.IsCapacityError()) return fail(too_large, 413, s.message());
      return fail(bad_encoding, s.IsNotImplemented() ? 415 : 400, s.message());
    }
    inflated = std::move(*out);
    body = &inflated;
  }
  BulkBatch batch;
  if (auto status = DecodeOtlp(signal, content_type, *body, &batch); !status.ok()) {
    return fail(bad_body, status.IsTypeError() ? 415 : 400, status.message());
  }
  batch.set_tenant(*tenant);
  batch.set_batch_id(fmt::format("{}-http-{}", node_id_, next_batch_++));
  // Bad records are dropped here and named in the answer; the good ones go on.
  auto validation = std::make_shared<Validation>(Admit(&batch));
  int64_t retry_after_ms = 0;
  if (auto s =
          quotas_->Admit(*tenant, ingest::CountRecords(batch), static_cast<int64_t>(body->size()), &retry_after_ms);
      !s.ok()) {
    over_quota.Increment();
    HttpResponse r = Error(429, s.message(), json);
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (retry_after_ms + 999) / 1000)));
    return respond(std::move(r));
  }
  auto answer = [respond, json, signal, validation] {
    HttpResponse r = HttpResponse::Json(200, ExportResponseBody(signal, *validation, json));
    if (!json) r.content_type = "application/x-protobuf";
    respond(std::move(r));
  };
  if (ingest::CountRecords(batch) == 0) return answer();
  // The response waits for the ingest node's ack: the short WAL holds the records by then.
  submit_(std::move(batch), [respond, json, answer](ingest::SubmitOutcome outcome) {
    const auto& s = outcome.status;
    if (s.ok()) return answer();
    refused_by_ingest.Increment();
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
