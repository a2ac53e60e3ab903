#pragma once
// OTLP -> Arrow: the ingest node turns the resources of one signal into one RecordBatch in the
// lake's schema (DESIGN.md, "Storage schema").
//
// Column names are those of the OpenTelemetry Collector ClickHouse exporter's tables
// (opentelemetry-collector-contrib, exporter/clickhouseexporter/internal/sqltemplates:
// logs_table.sql, traces_table.sql, metrics_{gauge,sum,histogram,exp_histogram,summary}_table.sql),
// so queries written for otel_logs / otel_traces / otel_metrics_* read our files. Where we differ:
//  - Types are Arrow's: `Timestamp` and every time column timestamp[ns, UTC]; TraceId / SpanId /
//    ParentSpanId and link / exemplar ids fixed_size_binary(16) / (8), null when the OTLP field is
//    empty or all zeros (the exporter writes ""); attribute maps map<utf8, utf8>.
//  - Attribute values that are not strings are kept as their JSON text (int 5 -> "5", true ->
//    "true", 1.5 -> "1.5", bytes -> base64, array -> `[1,"a"]`, kvlist -> `{"k":1}`), as are
//    non-string log bodies; an unset value is "". When a list repeats a key, its first value
//    wins (what pdata's Map.Get returns), so every map has unique keys as DuckDB requires.
//  - The exporter's Nested columns (ClickHouse stores Nested(a, b) as parallel arrays `X.a`,
//    `X.b`) are one list<struct<...>> column each, element i of the list being row i of the
//    Nested block: Events.{Timestamp, Name, Attributes} -> `Events` list<struct<Timestamp, Name,
//    Attributes>>; Links.{TraceId, SpanId, TraceState, Attributes} -> `Links`;
//    Exemplars.{FilteredAttributes, TimeUnix, Value, SpanId, TraceId} -> `Exemplars`;
//    ValueAtQuantiles.{Quantile, Value} -> `ValueAtQuantiles`. In DuckDB `Events[1].Name` or
//    `[e.Name for e in Events]` replace ClickHouse's `Events.Name[1]` / `Events.Name`.
//  - Logs add `ObservedTimestamp` (no exporter column) and, like the exporter, fall back to it when
//    time_unix_nano is 0. Traces add `ResourceSchemaUrl`, `ScopeSchemaUrl`, `ScopeAttributes` (the
//    names of the exporter's logs and metrics tables), so no scope attribute is lost.
//  - Metrics are one table for all kinds: the union of the five exporter tables plus `MetricType`
//    ("Gauge", "Sum", "Histogram", "ExponentialHistogram", "Summary") and `ZeroThreshold`; one
//    row per data point; a column that does not apply to the row's kind is null.
// SchemaFor() is the exact list; arrow_convert_test.cc checks it column by column.

#include <cstdint>
#include <memory>
#include <string_view>

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

namespace opentelemetry::proto {
namespace logs::v1 {
class ResourceLogs;
}
namespace trace::v1 {
class ResourceSpans;
}
namespace metrics::v1 {
class ResourceMetrics;
}
}  // namespace opentelemetry::proto

namespace openwit::ingest {

enum class Signal { kLogs, kTraces, kMetrics };

// "logs", "traces" or "metrics".
const char* SignalText(Signal signal);

// The lake schema of a signal; the same object on every call.
std::shared_ptr<arrow::Schema> SchemaFor(Signal signal);

namespace internal {
class SignalColumns;  // the builders of one signal (arrow_convert_columns.h)
}

// Accumulates OTLP resources of one signal and produces one RecordBatch; reusable after Finish().
// The builders (and their buffers' capacity) are kept across Finish() calls, so a long-lived
// converter per thread allocates little once warm. Not thread-safe.
class ArrowConverter {
 public:
  explicit ArrowConverter(Signal signal, arrow::MemoryPool* pool = arrow::default_memory_pool());
  ~ArrowConverter();
  ArrowConverter(ArrowConverter&&) noexcept;
  ArrowConverter& operator=(ArrowConverter&&) noexcept;
  ArrowConverter(const ArrowConverter&) = delete;
  ArrowConverter& operator=(const ArrowConverter&) = delete;

  // Appends every record (metrics: every data point) of the resource, or nothing: the ids are
  // checked first, and an id of the wrong length is Invalid naming its path, e.g.
  // "resource_logs[0].scope_logs[1].log_records[3].trace_id: 5 bytes, expected 16", where the
  // resource index counts the Append calls since the last Finish() (the position in the request
  // when its resources are appended in order). Each overload is for its signal only; another is
  // Invalid. Should a builder fail after the check (out of memory, a utf8 column over 2 GiB in
  // one batch), every later Append returns that error until Finish() returns it and discards the
  // rows.
  arrow::Status Append(const opentelemetry::proto::logs::v1::ResourceLogs& r);
  arrow::Status Append(const opentelemetry::proto::trace::v1::ResourceSpans& r);
  arrow::Status Append(const opentelemetry::proto::metrics::v1::ResourceMetrics& r);
  // The same for the serialized bytes of one ResourceLogs, ResourceSpans or ResourceMetrics (of
  // this converter's signal), as they sit in a bulk batch, read from the wire format directly
  // (otlp_wire.h: no protobuf objects made and freed; protobuf parses what it leaves). Invalid
  // when the bytes are not such a message, or a string in it is not UTF-8 (naming its path).
  arrow::Status AppendSerialized(std::string_view resource);
  // Log records appended from now on that carry neither time_unix_nano nor observed_time_unix_nano
  // get this time (the batch's received_unix_nano) as both; 0 (the default) leaves them at 0.
  void SetUntimedRecordsAt(uint64_t unix_nano);

  Signal signal() const { return signal_; }
  // Rows appended since the last Finish().
  int64_t rows() const { return rows_; }

  // The rows appended since the last Finish() (possibly none) as one batch of SchemaFor(signal());
  // the converter is then empty and ready for new resources.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish();

 private:
  arrow::Status BeginAppend(Signal wanted);

  Signal signal_;
  std::unique_ptr<internal::SignalColumns> columns_;
  int64_t rows_ = 0;
  int resources_ = 0;     // Append calls since Finish(): the resource index of error paths
  arrow::Status failed_;  // a builder error that left the columns uneven
};

}  // namespace openwit::ingest
