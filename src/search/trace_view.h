#pragma once
// A trace as OTLP again, rebuilt from the lake's span rows (the otel_traces columns that
// ingest/arrow_convert_traces.cc writes), for the trace-by-id APIs (Tempo's, Jaeger's).
//
// What comes back is what the lake keeps: every span with its ids, name, kind, times (in
// nanoseconds), status, attributes, events and links, under its resource and scope. Attribute
// values come back as strings: the lake keeps a non-string value as its JSON text (DESIGN.md,
// "Storage schema"), so 200 and "200" read alike. Dropped-attribute counts and span flags are not
// kept by the lake.

#include <string>
#include <string_view>

#include <arrow/result.h>
#include <nlohmann/json.hpp>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "search/duckdb_session.h"

namespace openwit::search {

// The SELECT list whose rows TraceFromRows reads.
extern const char* const kTraceColumns;

// The spans of `rows` (columns kTraceColumns, in any order) as OTLP, grouped by resource and scope
// as a client sends them; spans in row order.
arrow::Result<opentelemetry::proto::trace::v1::TracesData> TraceFromRows(const QueryRows& rows);

// `data` as OTLP JSON: {"resourceSpans": [...]}, lowerCamelCase names, trace and span ids as hex,
// enums as numbers, 64-bit numbers as strings.
arrow::Result<nlohmann::json> TracesDataJson(const opentelemetry::proto::trace::v1::TracesData& data);

// Lowercase hex of `bytes`.
std::string Hex(std::string_view bytes);

// The 16 bytes of a trace id given as 1 to 32 hex digits (shorter ones are left-padded with zeros,
// as Tempo does); Invalid naming the text otherwise.
arrow::Result<std::string> TraceIdFromHex(std::string_view hex);

}  // namespace openwit::search
