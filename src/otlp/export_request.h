#pragma once
// An OTLP export request (ExportLogsServiceRequest, ExportTraceServiceRequest or
// ExportMetricsServiceRequest) decoded into a bulk batch, from protobuf or from OTLP's JSON (hex
// trace and span ids, lowerCamelCase names, int64 as strings, enums by name or number). Every
// source of the gateway comes through here: OTLP/HTTP with either content type, OTLP/gRPC and
// Kafka with their protobuf bytes.

#include <string>
#include <string_view>

#include <arrow/status.h>

#include "openwit/ingest.pb.h"

namespace openwit::otlp {

// OTLP JSON bodies nest at most this many objects and arrays (protobuf's own recursion limit for
// the binary form is 100 messages); deeper bodies are refused before anything recurses over them.
constexpr int kMaxOtlpJsonDepth = 100;

// Decodes a request of `signal` (a body of `content_type`: application/x-protobuf or
// application/json) into `batch`, whose signal it sets: the records are moved, not copied.
// Invalid for a body that does not decode (the message names the field where it can); TypeError
// for another content type.
arrow::Status DecodeExportRequest(ingest::v1::Signal signal, const std::string& content_type, std::string_view body,
                                  ingest::v1::BulkBatch* batch);

}  // namespace openwit::otlp
