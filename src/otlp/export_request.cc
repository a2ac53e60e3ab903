#include "otlp/export_request.h"

#include <cctype>
#include <cstdint>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace openwit::otlp {
namespace {

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

}  // namespace

arrow::Status DecodeExportRequest(ingest::v1::Signal signal, const std::string& content_type, std::string_view body,
                                  ingest::v1::BulkBatch* batch) {
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

}  // namespace openwit::otlp
