#include "ingest/arrow_convert.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_nested.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/type.h>
#include <fmt/format.h>

#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace openwit::ingest {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;

using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;

constexpr size_t kTraceIdSize = 16;
constexpr size_t kSpanIdSize = 8;

// ---- Types -------------------------------------------------------------------------------------

std::shared_ptr<arrow::DataType> TimeType() {
  static const auto type = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  return type;
}

std::shared_ptr<arrow::DataType> AttributesType() {
  static const auto type = arrow::map(arrow::utf8(), arrow::utf8());
  return type;
}

std::shared_ptr<arrow::DataType> TraceIdType() {
  static const auto type = arrow::fixed_size_binary(kTraceIdSize);
  return type;
}

std::shared_ptr<arrow::DataType> SpanIdType() {
  static const auto type = arrow::fixed_size_binary(kSpanIdSize);
  return type;
}

// Events.{Timestamp, Name, Attributes} of otel_traces.
std::shared_ptr<arrow::DataType> EventType() {
  static const auto type = arrow::struct_({arrow::field("Timestamp", TimeType()), arrow::field("Name", arrow::utf8()),
                                           arrow::field("Attributes", AttributesType())});
  return type;
}

// Links.{TraceId, SpanId, TraceState, Attributes} of otel_traces.
std::shared_ptr<arrow::DataType> LinkType() {
  static const auto type =
      arrow::struct_({arrow::field("TraceId", TraceIdType()), arrow::field("SpanId", SpanIdType()),
                      arrow::field("TraceState", arrow::utf8()), arrow::field("Attributes", AttributesType())});
  return type;
}

// Exemplars.{FilteredAttributes, TimeUnix, Value, SpanId, TraceId} of the otel_metrics_* tables.
std::shared_ptr<arrow::DataType> ExemplarType() {
  static const auto type =
      arrow::struct_({arrow::field("FilteredAttributes", AttributesType()), arrow::field("TimeUnix", TimeType()),
                      arrow::field("Value", arrow::float64()), arrow::field("SpanId", SpanIdType()),
                      arrow::field("TraceId", TraceIdType())});
  return type;
}

// ValueAtQuantiles.{Quantile, Value} of otel_metrics_summary.
std::shared_ptr<arrow::DataType> QuantileType() {
  static const auto type =
      arrow::struct_({arrow::field("Quantile", arrow::float64()), arrow::field("Value", arrow::float64())});
  return type;
}

std::shared_ptr<arrow::Field> Column(const char* name, std::shared_ptr<arrow::DataType> type, bool nullable = false) {
  return arrow::field(name, std::move(type), nullable);
}

std::shared_ptr<arrow::Schema> MakeLogsSchema() {
  const auto utf8 = arrow::utf8();
  return arrow::schema({
      Column("Timestamp", TimeType()),
      Column("ObservedTimestamp", TimeType(), /*nullable=*/true),
      Column("TraceId", TraceIdType(), true),
      Column("SpanId", SpanIdType(), true),
      Column("TraceFlags", arrow::uint32()),
      Column("SeverityText", utf8),
      Column("SeverityNumber", arrow::int32()),
      Column("ServiceName", utf8),
      Column("Body", utf8),
      Column("ResourceSchemaUrl", utf8),
      Column("ResourceAttributes", AttributesType()),
      Column("ScopeSchemaUrl", utf8),
      Column("ScopeName", utf8),
      Column("ScopeVersion", utf8),
      Column("ScopeAttributes", AttributesType()),
      Column("LogAttributes", AttributesType()),
      Column("EventName", utf8),
  });
}

std::shared_ptr<arrow::Schema> MakeTracesSchema() {
  const auto utf8 = arrow::utf8();
  return arrow::schema({
      Column("Timestamp", TimeType()),
      Column("TraceId", TraceIdType(), /*nullable=*/true),
      Column("SpanId", SpanIdType(), true),
      Column("ParentSpanId", SpanIdType(), true),
      Column("TraceState", utf8),
      Column("SpanName", utf8),
      Column("SpanKind", utf8),
      Column("ServiceName", utf8),
      Column("ResourceSchemaUrl", utf8),
      Column("ResourceAttributes", AttributesType()),
      Column("ScopeSchemaUrl", utf8),
      Column("ScopeName", utf8),
      Column("ScopeVersion", utf8),
      Column("ScopeAttributes", AttributesType()),
      Column("SpanAttributes", AttributesType()),
      Column("Duration", arrow::int64()),
      Column("StatusCode", utf8),
      Column("StatusMessage", utf8),
      Column("Events", arrow::list(EventType())),
      Column("Links", arrow::list(LinkType())),
  });
}

std::shared_ptr<arrow::Schema> MakeMetricsSchema() {
  const auto utf8 = arrow::utf8();
  constexpr bool kNullable = true;
  return arrow::schema({
      Column("ResourceAttributes", AttributesType()),
      Column("ResourceSchemaUrl", utf8),
      Column("ScopeName", utf8),
      Column("ScopeVersion", utf8),
      Column("ScopeAttributes", AttributesType()),
      Column("ScopeDroppedAttrCount", arrow::uint32()),
      Column("ScopeSchemaUrl", utf8),
      Column("ServiceName", utf8),
      Column("MetricName", utf8),
      Column("MetricDescription", utf8),
      Column("MetricUnit", utf8),
      Column("MetricType", utf8),
      Column("Attributes", AttributesType()),
      Column("StartTimeUnix", TimeType(), kNullable),
      Column("TimeUnix", TimeType()),
      Column("Value", arrow::float64(), kNullable),
      Column("Count", arrow::uint64(), kNullable),
      Column("Sum", arrow::float64(), kNullable),
      Column("BucketCounts", arrow::list(arrow::uint64()), kNullable),
      Column("ExplicitBounds", arrow::list(arrow::float64()), kNullable),
      Column("Scale", arrow::int32(), kNullable),
      Column("ZeroCount", arrow::uint64(), kNullable),
      Column("ZeroThreshold", arrow::float64(), kNullable),
      Column("PositiveOffset", arrow::int32(), kNullable),
      Column("PositiveBucketCounts", arrow::list(arrow::uint64()), kNullable),
      Column("NegativeOffset", arrow::int32(), kNullable),
      Column("NegativeBucketCounts", arrow::list(arrow::uint64()), kNullable),
      Column("ValueAtQuantiles", arrow::list(QuantileType()), kNullable),
      Column("Exemplars", arrow::list(ExemplarType()), kNullable),
      Column("Flags", arrow::uint32()),
      Column("Min", arrow::float64(), kNullable),
      Column("Max", arrow::float64(), kNullable),
      Column("AggregationTemporality", arrow::int32(), kNullable),
      Column("IsMonotonic", arrow::boolean(), kNullable),
  });
}

// ---- Text of attribute values ------------------------------------------------------------------
// Hand-written rather than through a JSON library: the common value is a plain string, passed
// through with no copy, and the rest is a few appends to one reused buffer.

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendBase64(std::string_view in, std::string* out) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&in](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(in[i])); };
  out->reserve(out->size() + (in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out->push_back(kAlphabet[n >> 18]);
    out->push_back(kAlphabet[(n >> 12) & 63]);
    out->push_back(kAlphabet[(n >> 6) & 63]);
    out->push_back(kAlphabet[n & 63]);
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    const uint32_t n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out->push_back(kAlphabet[n >> 18]);
    out->push_back(kAlphabet[(n >> 12) & 63]);
    out->push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out->push_back('=');
  }
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
  out->append(buf, end);
}

// The shortest text that reads back as the same double, in plain notation between 1e-6 and 1e21
// and in exponent notation outside (the JSON numbers of Go and JavaScript). NaN and infinities
// have no JSON number: inside JSON they are the strings "NaN", "Infinity", "-Infinity".
void AppendDouble(double v, bool inside_json, std::string* out) {
  if (!std::isfinite(v)) {
    const char* text = std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
    if (inside_json) out->push_back('"');
    out->append(text);
    if (inside_json) out->push_back('"');
    return;
  }
  const double magnitude = std::fabs(v);
  const auto format = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21) ? std::chars_format::fixed
                                                                                : std::chars_format::scientific;
  char buf[64];  // fixed below 1e21 with at most 17 significant digits: under 50 characters
  const auto end = std::to_chars(buf, buf + sizeof(buf), v, format).ptr;
  out->append(buf, end);
}

// A value inside a JSON array or object.
void AppendJson(const common::AnyValue& v, std::string* out) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      AppendJsonString(v.string_value(), out);
      break;
    case common::AnyValue::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case common::AnyValue::kIntValue:
      AppendInt(v.int_value(), out);
      break;
    case common::AnyValue::kDoubleValue:
      AppendDouble(v.double_value(), /*inside_json=*/true, out);
      break;
    case common::AnyValue::kBytesValue:
      out->push_back('"');
      AppendBase64(v.bytes_value(), out);
      out->push_back('"');
      break;
    case common::AnyValue::kArrayValue: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.array_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, out);
      }
      out->push_back(']');
      break;
    }
    case common::AnyValue::kKvlistValue: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : v.kvlist_value().values()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(kv.key(), out);
        out->push_back(':');
        AppendJson(kv.value(), out);
      }
      out->push_back('}');
      break;
    }
    default:  // unset, or a profiles string-table index that means nothing here
      out->append("null");
  }
}

// The text stored for a value in a map column or Body: a string as itself (a view into the
// message, no copy), anything else as its JSON text rendered into *scratch, unset as "".
std::string_view ValueText(const common::AnyValue& v, std::string* scratch) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kDoubleValue:
      scratch->clear();
      AppendDouble(v.double_value(), /*inside_json=*/false, scratch);
      return *scratch;
    case common::AnyValue::kBytesValue:
      scratch->clear();
      AppendBase64(v.bytes_value(), scratch);
      return *scratch;
    case common::AnyValue::VALUE_NOT_SET:
    case common::AnyValue::kStringValueStrindex:
      return {};
    default:
      scratch->clear();
      AppendJson(v, scratch);
      return *scratch;
  }
}

// ---- Map columns -------------------------------------------------------------------------------

// Reused buffers of one converter, so that steady-state rows allocate nothing.
struct Scratch {
  std::string text;
  std::vector<std::string_view> keys;
};

// A map<utf8, utf8> column and its key and value builders.
struct MapColumn {
  explicit MapColumn(arrow::MemoryPool* pool)
      : keys(std::make_shared<arrow::StringBuilder>(pool)),
        values(std::make_shared<arrow::StringBuilder>(pool)),
        builder(std::make_shared<arrow::MapBuilder>(pool, keys, values, AttributesType())) {}

  std::shared_ptr<arrow::StringBuilder> keys;
  std::shared_ptr<arrow::StringBuilder> values;
  std::shared_ptr<arrow::MapBuilder> builder;
  // Whether the list written last has unique keys. Resource and scope attributes are the same
  // list on every row of a resource: checked once. Reset by every Append(resource), as a later
  // message may reuse an address.
  const Attributes* checked = nullptr;
  bool unique = true;
};

bool KeysUnique(const Attributes& attrs, std::vector<std::string_view>* keys) {
  const int n = attrs.size();
  if (n <= 16) {
    for (int i = 1; i < n; ++i) {
      const std::string& key = attrs[i].key();
      for (int j = 0; j < i; ++j) {
        if (attrs[j].key() == key) return false;
      }
    }
    return true;
  }
  keys->clear();
  for (const auto& kv : attrs) keys->push_back(kv.key());
  std::sort(keys->begin(), keys->end());
  return std::adjacent_find(keys->begin(), keys->end()) == keys->end();
}

bool KeySeenBefore(const Attributes& attrs, int i) {
  for (int j = 0; j < i; ++j) {
    if (attrs[j].key() == attrs[i].key()) return true;
  }
  return false;
}

// The one writer of every map column: resource, scope, record, event, link and exemplar
// attributes alike.
static arrow::Status WriteAttributes(const Attributes& attrs, MapColumn* column, Scratch* scratch) {
  ARROW_RETURN_NOT_OK(column->builder->Append());
  if (column->checked != &attrs) {
    column->checked = &attrs;
    column->unique = KeysUnique(attrs, &scratch->keys);
  }
  for (int i = 0; i < attrs.size(); ++i) {
    const common::KeyValue& kv = attrs[i];
    // First value wins, as pdata's Map.Get; rare enough that the quadratic scan is fine.
    if (!column->unique && KeySeenBefore(attrs, i)) continue;
    ARROW_RETURN_NOT_OK(column->keys->Append(kv.key()));
    ARROW_RETURN_NOT_OK(column->values->Append(ValueText(kv.value(), &scratch->text)));
  }
  return arrow::Status::OK();
}

// service.name of the resource as text ("" when absent), rendered into *storage if not a string.
std::string_view ServiceName(const Attributes& resource_attrs, std::string* storage) {
  for (const auto& kv : resource_attrs) {
    if (kv.key() == "service.name") return ValueText(kv.value(), storage);
  }
  return {};
}

// ---- Ids -------------------------------------------------------------------------------------

bool IsAbsentId(const std::string& id) {
  return std::all_of(id.begin(), id.end(), [](char c) { return c == 0; });
}

// Appends an id whose length CheckId verified: null when empty or all zeros (both mean "no id"
// in OTLP). `Unsafe`: the builder has room reserved for the row.
void UnsafeAppendId(const std::string& id, arrow::FixedSizeBinaryBuilder* builder) {
  if (IsAbsentId(id)) {
    builder->UnsafeAppendNull();
  } else {
    builder->UnsafeAppend(reinterpret_cast<const uint8_t*>(id.data()));
  }
}

arrow::Status AppendId(const std::string& id, arrow::FixedSizeBinaryBuilder* builder) {
  if (IsAbsentId(id)) return builder->AppendNull();
  return builder->Append(reinterpret_cast<const uint8_t*>(id.data()));
}

// Checks one id's length; the path is only formatted on error.
template <class Path>
arrow::Status CheckId(const std::string& id, size_t expected, const char* field, Path&& path) {
  if (id.empty() || id.size() == expected) return arrow::Status::OK();
  return arrow::Status::Invalid(fmt::format("{}.{}: {} bytes, expected {}", path(), field, id.size(), expected));
}

int64_t Nanos(uint64_t unix_nano) { return static_cast<int64_t>(unix_nano); }

}  // namespace

// ---- Columns of one signal ---------------------------------------------------------------------

namespace internal {

// The builders of one signal's columns, in schema order, kept across batches.
class SignalColumns {
 public:
  SignalColumns(std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool)
      : schema_(std::move(schema)), pool_(pool) {}
  virtual ~SignalColumns() = default;

  // Room for `rows` more rows in every top-level builder (fixed-width ones then take
  // UnsafeAppend).
  arrow::Status Reserve(int64_t rows) {
    for (const auto& b : builders_) ARROW_RETURN_NOT_OK(b->Reserve(rows));
    return arrow::Status::OK();
  }

  void Reset() {
    for (const auto& b : builders_) b->Reset();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish(int64_t rows) {
    std::vector<std::shared_ptr<arrow::Array>> arrays(builders_.size());
    for (size_t i = 0; i < builders_.size(); ++i) {
      if (auto st = builders_[i]->Finish(&arrays[i]); !st.ok()) {
        Reset();
        return st;
      }
    }
    auto batch = arrow::RecordBatch::Make(schema_, rows, std::move(arrays));
    ARROW_RETURN_NOT_OK(batch->Validate());  // lengths and types against the schema: cheap
    return batch;
  }

 protected:
  // Creates the builder of the next column (schema order).
  template <class B, class... Args>
  B* Add(Args&&... args) {
    auto builder = std::make_shared<B>(std::forward<Args>(args)...);
    builders_.push_back(builder);
    return builder.get();
  }
  void Add(MapColumn* column) { builders_.push_back(column->builder); }

  // Forgets the key-uniqueness cache of every map column (a new resource may reuse addresses).
  void ForgetChecked(std::initializer_list<MapColumn*> columns) {
    for (MapColumn* c : columns) c->checked = nullptr;
  }

  std::shared_ptr<arrow::Schema> schema_;
  arrow::MemoryPool* pool_;
  std::vector<std::shared_ptr<arrow::ArrayBuilder>> builders_;
  Scratch scratch_;
  std::string service_name_;  // rendered service.name of the current resource if not a string
};

}  // namespace internal

namespace {

using internal::SignalColumns;

class LogColumns final : public SignalColumns {
 public:
  explicit LogColumns(arrow::MemoryPool* pool)
      : SignalColumns(SchemaFor(Signal::kLogs), pool),
        resource_attributes_(pool),
        scope_attributes_(pool),
        log_attributes_(pool) {
    timestamp_ = Add<arrow::TimestampBuilder>(TimeType(), pool);
    observed_timestamp_ = Add<arrow::TimestampBuilder>(TimeType(), pool);
    trace_id_ = Add<arrow::FixedSizeBinaryBuilder>(TraceIdType(), pool);
    span_id_ = Add<arrow::FixedSizeBinaryBuilder>(SpanIdType(), pool);
    trace_flags_ = Add<arrow::UInt32Builder>(pool);
    severity_text_ = Add<arrow::StringBuilder>(pool);
    severity_number_ = Add<arrow::Int32Builder>(pool);
    service_name_col_ = Add<arrow::StringBuilder>(pool);
    body_ = Add<arrow::StringBuilder>(pool);
    resource_schema_url_ = Add<arrow::StringBuilder>(pool);
    Add(&resource_attributes_);
    scope_schema_url_ = Add<arrow::StringBuilder>(pool);
    scope_name_ = Add<arrow::StringBuilder>(pool);
    scope_version_ = Add<arrow::StringBuilder>(pool);
    Add(&scope_attributes_);
    Add(&log_attributes_);
    event_name_ = Add<arrow::StringBuilder>(pool);
  }

  // Row count of the resource, or the first id of a wrong length.
  static arrow::Result<int64_t> Check(const logs::ResourceLogs& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_logs_size(); ++s) {
      const auto& records = r.scope_logs(s).log_records();
      rows += records.size();
      for (int i = 0; i < records.size(); ++i) {
        const auto path = [&] { return fmt::format("resource_logs[{}].scope_logs[{}].log_records[{}]", index, s, i); };
        ARROW_RETURN_NOT_OK(CheckId(records[i].trace_id(), kTraceIdSize, "trace_id", path));
        ARROW_RETURN_NOT_OK(CheckId(records[i].span_id(), kSpanIdSize, "span_id", path));
      }
    }
    return rows;
  }

  arrow::Status Append(const logs::ResourceLogs& r) {
    ForgetChecked({&resource_attributes_, &scope_attributes_, &log_attributes_});
    const auto& resource_attrs = r.resource().attributes();
    const std::string_view service = ServiceName(resource_attrs, &service_name_);
    for (const auto& scope_logs : r.scope_logs()) {
      const auto& scope = scope_logs.scope();
      for (const auto& rec : scope_logs.log_records()) {
        // As the exporter: a record without time_unix_nano is placed at its observed time.
        const uint64_t time = rec.time_unix_nano() != 0 ? rec.time_unix_nano() : rec.observed_time_unix_nano();
        timestamp_->UnsafeAppend(Nanos(time));
        if (rec.observed_time_unix_nano() == 0) {
          observed_timestamp_->UnsafeAppendNull();
        } else {
          observed_timestamp_->UnsafeAppend(Nanos(rec.observed_time_unix_nano()));
        }
        UnsafeAppendId(rec.trace_id(), trace_id_);
        UnsafeAppendId(rec.span_id(), span_id_);
        trace_flags_->UnsafeAppend(rec.flags());
        ARROW_RETURN_NOT_OK(severity_text_->Append(rec.severity_text()));
        severity_number_->UnsafeAppend(rec.severity_number());
        ARROW_RETURN_NOT_OK(service_name_col_->Append(service));
        ARROW_RETURN_NOT_OK(body_->Append(ValueText(rec.body(), &scratch_.text)));
        ARROW_RETURN_NOT_OK(resource_schema_url_->Append(r.schema_url()));
        ARROW_RETURN_NOT_OK(WriteAttributes(resource_attrs, &resource_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(scope_schema_url_->Append(scope_logs.schema_url()));
        ARROW_RETURN_NOT_OK(scope_name_->Append(scope.name()));
        ARROW_RETURN_NOT_OK(scope_version_->Append(scope.version()));
        ARROW_RETURN_NOT_OK(WriteAttributes(scope.attributes(), &scope_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(WriteAttributes(rec.attributes(), &log_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(event_name_->Append(rec.event_name()));
      }
    }
    return arrow::Status::OK();
  }

 private:
  arrow::TimestampBuilder* timestamp_;
  arrow::TimestampBuilder* observed_timestamp_;
  arrow::FixedSizeBinaryBuilder* trace_id_;
  arrow::FixedSizeBinaryBuilder* span_id_;
  arrow::UInt32Builder* trace_flags_;
  arrow::StringBuilder* severity_text_;
  arrow::Int32Builder* severity_number_;
  arrow::StringBuilder* service_name_col_;
  arrow::StringBuilder* body_;
  arrow::StringBuilder* resource_schema_url_;
  MapColumn resource_attributes_;
  arrow::StringBuilder* scope_schema_url_;
  arrow::StringBuilder* scope_name_;
  arrow::StringBuilder* scope_version_;
  MapColumn scope_attributes_;
  MapColumn log_attributes_;
  arrow::StringBuilder* event_name_;
};

// pdata's SpanKind.String() and StatusCode.String(), which the exporter writes.
std::string_view SpanKindText(int kind) {
  switch (kind) {
    case trace::Span::SPAN_KIND_UNSPECIFIED:
      return "Unspecified";
    case trace::Span::SPAN_KIND_INTERNAL:
      return "Internal";
    case trace::Span::SPAN_KIND_SERVER:
      return "Server";
    case trace::Span::SPAN_KIND_CLIENT:
      return "Client";
    case trace::Span::SPAN_KIND_PRODUCER:
      return "Producer";
    case trace::Span::SPAN_KIND_CONSUMER:
      return "Consumer";
    default:
      return {};
  }
}

std::string_view StatusCodeText(int code) {
  switch (code) {
    case trace::Status::STATUS_CODE_UNSET:
      return "Unset";
    case trace::Status::STATUS_CODE_OK:
      return "Ok";
    case trace::Status::STATUS_CODE_ERROR:
      return "Error";
    default:
      return {};
  }
}

class SpanColumns final : public SignalColumns {
 public:
  explicit SpanColumns(arrow::MemoryPool* pool)
      : SignalColumns(SchemaFor(Signal::kTraces), pool),
        resource_attributes_(pool),
        scope_attributes_(pool),
        span_attributes_(pool),
        event_attributes_(pool),
        link_attributes_(pool) {
    timestamp_ = Add<arrow::TimestampBuilder>(TimeType(), pool);
    trace_id_ = Add<arrow::FixedSizeBinaryBuilder>(TraceIdType(), pool);
    span_id_ = Add<arrow::FixedSizeBinaryBuilder>(SpanIdType(), pool);
    parent_span_id_ = Add<arrow::FixedSizeBinaryBuilder>(SpanIdType(), pool);
    trace_state_ = Add<arrow::StringBuilder>(pool);
    span_name_ = Add<arrow::StringBuilder>(pool);
    span_kind_ = Add<arrow::StringBuilder>(pool);
    service_name_col_ = Add<arrow::StringBuilder>(pool);
    resource_schema_url_ = Add<arrow::StringBuilder>(pool);
    Add(&resource_attributes_);
    scope_schema_url_ = Add<arrow::StringBuilder>(pool);
    scope_name_ = Add<arrow::StringBuilder>(pool);
    scope_version_ = Add<arrow::StringBuilder>(pool);
    Add(&scope_attributes_);
    Add(&span_attributes_);
    duration_ = Add<arrow::Int64Builder>(pool);
    status_code_ = Add<arrow::StringBuilder>(pool);
    status_message_ = Add<arrow::StringBuilder>(pool);

    auto event_time = std::make_shared<arrow::TimestampBuilder>(TimeType(), pool);
    auto event_name = std::make_shared<arrow::StringBuilder>(pool);
    event_time_ = event_time.get();
    event_name_ = event_name.get();
    auto event = std::make_shared<arrow::StructBuilder>(
        EventType(), pool,
        std::vector<std::shared_ptr<arrow::ArrayBuilder>>{event_time, event_name, event_attributes_.builder});
    event_ = event.get();
    events_ = Add<arrow::ListBuilder>(pool, event, arrow::list(EventType()));

    auto link_trace_id = std::make_shared<arrow::FixedSizeBinaryBuilder>(TraceIdType(), pool);
    auto link_span_id = std::make_shared<arrow::FixedSizeBinaryBuilder>(SpanIdType(), pool);
    auto link_trace_state = std::make_shared<arrow::StringBuilder>(pool);
    link_trace_id_ = link_trace_id.get();
    link_span_id_ = link_span_id.get();
    link_trace_state_ = link_trace_state.get();
    auto link = std::make_shared<arrow::StructBuilder>(
        LinkType(), pool,
        std::vector<std::shared_ptr<arrow::ArrayBuilder>>{link_trace_id, link_span_id, link_trace_state,
                                                          link_attributes_.builder});
    link_ = link.get();
    links_ = Add<arrow::ListBuilder>(pool, link, arrow::list(LinkType()));
  }

  static arrow::Result<int64_t> Check(const trace::ResourceSpans& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_spans_size(); ++s) {
      const auto& spans = r.scope_spans(s).spans();
      rows += spans.size();
      for (int i = 0; i < spans.size(); ++i) {
        const trace::Span& span = spans[i];
        const auto path = [&] { return fmt::format("resource_spans[{}].scope_spans[{}].spans[{}]", index, s, i); };
        ARROW_RETURN_NOT_OK(CheckId(span.trace_id(), kTraceIdSize, "trace_id", path));
        ARROW_RETURN_NOT_OK(CheckId(span.span_id(), kSpanIdSize, "span_id", path));
        ARROW_RETURN_NOT_OK(CheckId(span.parent_span_id(), kSpanIdSize, "parent_span_id", path));
        for (int l = 0; l < span.links_size(); ++l) {
          const auto link_path = [&] { return fmt::format("{}.links[{}]", path(), l); };
          ARROW_RETURN_NOT_OK(CheckId(span.links(l).trace_id(), kTraceIdSize, "trace_id", link_path));
          ARROW_RETURN_NOT_OK(CheckId(span.links(l).span_id(), kSpanIdSize, "span_id", link_path));
        }
      }
    }
    return rows;
  }

  arrow::Status Append(const trace::ResourceSpans& r) {
    ForgetChecked(
        {&resource_attributes_, &scope_attributes_, &span_attributes_, &event_attributes_, &link_attributes_});
    const auto& resource_attrs = r.resource().attributes();
    const std::string_view service = ServiceName(resource_attrs, &service_name_);
    for (const auto& scope_spans : r.scope_spans()) {
      const auto& scope = scope_spans.scope();
      for (const trace::Span& span : scope_spans.spans()) {
        timestamp_->UnsafeAppend(Nanos(span.start_time_unix_nano()));
        UnsafeAppendId(span.trace_id(), trace_id_);
        UnsafeAppendId(span.span_id(), span_id_);
        UnsafeAppendId(span.parent_span_id(), parent_span_id_);
        ARROW_RETURN_NOT_OK(trace_state_->Append(span.trace_state()));
        ARROW_RETURN_NOT_OK(span_name_->Append(span.name()));
        ARROW_RETURN_NOT_OK(span_kind_->Append(SpanKindText(span.kind())));
        ARROW_RETURN_NOT_OK(service_name_col_->Append(service));
        ARROW_RETURN_NOT_OK(resource_schema_url_->Append(r.schema_url()));
        ARROW_RETURN_NOT_OK(WriteAttributes(resource_attrs, &resource_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(scope_schema_url_->Append(scope_spans.schema_url()));
        ARROW_RETURN_NOT_OK(scope_name_->Append(scope.name()));
        ARROW_RETURN_NOT_OK(scope_version_->Append(scope.version()));
        ARROW_RETURN_NOT_OK(WriteAttributes(scope.attributes(), &scope_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(WriteAttributes(span.attributes(), &span_attributes_, &scratch_));
        // Unsigned difference read as signed: an end before the start gives a negative duration.
        duration_->UnsafeAppend(static_cast<int64_t>(span.end_time_unix_nano() - span.start_time_unix_nano()));
        ARROW_RETURN_NOT_OK(status_code_->Append(StatusCodeText(span.status().code())));
        ARROW_RETURN_NOT_OK(status_message_->Append(span.status().message()));

        ARROW_RETURN_NOT_OK(events_->Append());
        for (const auto& e : span.events()) {
          ARROW_RETURN_NOT_OK(event_->Append());
          ARROW_RETURN_NOT_OK(event_time_->Append(Nanos(e.time_unix_nano())));
          ARROW_RETURN_NOT_OK(event_name_->Append(e.name()));
          ARROW_RETURN_NOT_OK(WriteAttributes(e.attributes(), &event_attributes_, &scratch_));
        }
        ARROW_RETURN_NOT_OK(links_->Append());
        for (const auto& l : span.links()) {
          ARROW_RETURN_NOT_OK(link_->Append());
          ARROW_RETURN_NOT_OK(AppendId(l.trace_id(), link_trace_id_));
          ARROW_RETURN_NOT_OK(AppendId(l.span_id(), link_span_id_));
          ARROW_RETURN_NOT_OK(link_trace_state_->Append(l.trace_state()));
          ARROW_RETURN_NOT_OK(WriteAttributes(l.attributes(), &link_attributes_, &scratch_));
        }
      }
    }
    return arrow::Status::OK();
  }

 private:
  arrow::TimestampBuilder* timestamp_;
  arrow::FixedSizeBinaryBuilder* trace_id_;
  arrow::FixedSizeBinaryBuilder* span_id_;
  arrow::FixedSizeBinaryBuilder* parent_span_id_;
  arrow::StringBuilder* trace_state_;
  arrow::StringBuilder* span_name_;
  arrow::StringBuilder* span_kind_;
  arrow::StringBuilder* service_name_col_;
  arrow::StringBuilder* resource_schema_url_;
  MapColumn resource_attributes_;
  arrow::StringBuilder* scope_schema_url_;
  arrow::StringBuilder* scope_name_;
  arrow::StringBuilder* scope_version_;
  MapColumn scope_attributes_;
  MapColumn span_attributes_;
  arrow::Int64Builder* duration_;
  arrow::StringBuilder* status_code_;
  arrow::StringBuilder* status_message_;
  arrow::ListBuilder* events_;
  arrow::StructBuilder* event_;
  arrow::TimestampBuilder* event_time_;
  arrow::StringBuilder* event_name_;
  MapColumn event_attributes_;
  arrow::ListBuilder* links_;
  arrow::StructBuilder* link_;
  arrow::FixedSizeBinaryBuilder* link_trace_id_;
  arrow::FixedSizeBinaryBuilder* link_span_id_;
  arrow::StringBuilder* link_trace_state_;
  MapColumn link_attributes_;
};

// The kind-specific columns of one metric data point; what a kind lacks stays unset -> null.
struct PointColumns {
  const char* type = "";
  const Attributes* attributes = nullptr;
  uint64_t start_time = 0;
  uint64_t time = 0;
  uint32_t flags = 0;
  std::optional<double> value = std::nullopt;
  std::optional<uint64_t> count = std::nullopt;
  std::optional<double> sum = std::nullopt;
  const google::protobuf::RepeatedField<uint64_t>* bucket_counts = nullptr;
  const google::protobuf::RepeatedField<double>* explicit_bounds = nullptr;
  std::optional<int32_t> scale = std::nullopt;
  std::optional<uint64_t> zero_count = std::nullopt;
  std::optional<double> zero_threshold = std::nullopt;
  const metrics::ExponentialHistogramDataPoint::Buckets* positive = nullptr;
  const metrics::ExponentialHistogramDataPoint::Buckets* negative = nullptr;
  const google::protobuf::RepeatedPtrField<metrics::SummaryDataPoint::ValueAtQuantile>* quantiles = nullptr;
  const google::protobuf::RepeatedPtrField<metrics::Exemplar>* exemplars = nullptr;
  std::optional<double> min = std::nullopt;
  std::optional<double> max = std::nullopt;
  std::optional<int32_t> temporality = std::nullopt;
  std::optional<bool> monotonic = std::nullopt;
};

template <class Builder, class T>
void UnsafeAppendOptional(const std::optional<T>& v, Builder* builder) {
  if (v) {
    builder->UnsafeAppend(*v);
  } else {
    builder->UnsafeAppendNull();
  }
}

// A list<T> column of numbers.
template <class ValueBuilder>
struct NumberListColumn {
  ValueBuilder* values;
  arrow::ListBuilder* list;

  template <class T>
  arrow::Status Append(const google::protobuf::RepeatedField<T>* numbers) {
    if (numbers == nullptr) return list->AppendNull();
    ARROW_RETURN_NOT_OK(list->Append());
    if (numbers->empty()) return arrow::Status::OK();  // data() may be null: no memcpy from it
    return values->AppendValues(numbers->data(), numbers->size());
  }
};

class MetricColumns final : public SignalColumns {
 public:
  explicit MetricColumns(arrow::MemoryPool* pool)
      : SignalColumns(SchemaFor(Signal::kMetrics), pool),
        resource_attributes_(pool),
        scope_attributes_(pool),
        attributes_(pool),
        exemplar_attributes_(pool) {
    Add(&resource_attributes_);
    resource_schema_url_ = Add<arrow::StringBuilder>(pool);
    scope_name_ = Add<arrow::StringBuilder>(pool);
    scope_version_ = Add<arrow::StringBuilder>(pool);
    Add(&scope_attributes_);
    scope_dropped_ = Add<arrow::UInt32Builder>(pool);
    scope_schema_url_ = Add<arrow::StringBuilder>(pool);
    service_name_col_ = Add<arrow::StringBuilder>(pool);
    metric_name_ = Add<arrow::StringBuilder>(pool);
    metric_description_ = Add<arrow::StringBuilder>(pool);
    metric_unit_ = Add<arrow::StringBuilder>(pool);
    metric_type_ = Add<arrow::StringBuilder>(pool);
    Add(&attributes_);
    start_time_ = Add<arrow::TimestampBuilder>(TimeType(), pool);
    time_ = Add<arrow::TimestampBuilder>(TimeType(), pool);
    value_ = Add<arrow::DoubleBuilder>(pool);
    count_ = Add<arrow::UInt64Builder>(pool);
    sum_ = Add<arrow::DoubleBuilder>(pool);
    bucket_counts_ = AddNumberList<arrow::UInt64Builder>(arrow::uint64());
    explicit_bounds_ = AddNumberList<arrow::DoubleBuilder>(arrow::float64());
    scale_ = Add<arrow::Int32Builder>(pool);
    zero_count_ = Add<arrow::UInt64Builder>(pool);
    zero_threshold_ = Add<arrow::DoubleBuilder>(pool);
    positive_offset_ = Add<arrow::Int32Builder>(pool);
    positive_counts_ = AddNumberList<arrow::UInt64Builder>(arrow::uint64());
    negative_offset_ = Add<arrow::Int32Builder>(pool);
    negative_counts_ = AddNumberList<arrow::UInt64Builder>(arrow::uint64());

    auto quantile = std::make_shared<arrow::DoubleBuilder>(pool);
    auto quantile_value = std::make_shared<arrow::DoubleBuilder>(pool);
    quantile_ = quantile.get();
    quantile_value_ = quantile_value.get();
    auto quantile_struct = std::make_shared<arrow::StructBuilder>(
        QuantileType(), pool, std::vector<std::shared_ptr<arrow::ArrayBuilder>>{quantile, quantile_value});
    quantile_struct_ = quantile_struct.get();
    quantiles_ = Add<arrow::ListBuilder>(pool, quantile_struct, arrow::list(QuantileType()));

    auto exemplar_time = std::make_shared<arrow::TimestampBuilder>(TimeType(), pool);
    auto exemplar_value = std::make_shared<arrow::DoubleBuilder>(pool);
    auto exemplar_span_id = std::make_shared<arrow::FixedSizeBinaryBuilder>(SpanIdType(), pool);
    auto exemplar_trace_id = std::make_shared<arrow::FixedSizeBinaryBuilder>(TraceIdType(), pool);
    exemplar_time_ = exemplar_time.get();
    exemplar_value_ = exemplar_value.get();
    exemplar_span_id_ = exemplar_span_id.get();
    exemplar_trace_id_ = exemplar_trace_id.get();
    auto exemplar = std::make_shared<arrow::StructBuilder>(
        ExemplarType(), pool,
        std::vector<std::shared_ptr<arrow::ArrayBuilder>>{exemplar_attributes_.builder, exemplar_time, exemplar_value,
                                                          exemplar_span_id, exemplar_trace_id});
    exemplar_ = exemplar.get();
    exemplars_ = Add<arrow::ListBuilder>(pool, exemplar, arrow::list(ExemplarType()));

    flags_ = Add<arrow::UInt32Builder>(pool);
    min_ = Add<arrow::DoubleBuilder>(pool);
    max_ = Add<arrow::DoubleBuilder>(pool);
    temporality_ = Add<arrow::Int32Builder>(pool);
    monotonic_ = Add<arrow::BooleanBuilder>(pool);
  }

  static arrow::Result<int64_t> Check(const metrics::ResourceMetrics& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_metrics_size(); ++s) {
      const auto& metric_list = r.scope_metrics(s).metrics();
      for (int m = 0; m < metric_list.size(); ++m) {
        const metrics::Metric& metric = metric_list[m];
        // Rows of the metric, and the ids of each data point's exemplars.
        const auto check_points = [&](const auto& points, const char* kind) -> arrow::Status {
          rows += points.size();
          for (int p = 0; p < points.size(); ++p) {
            using Point = std::decay_t<decltype(points[p])>;
            if constexpr (!std::is_same_v<Point, metrics::SummaryDataPoint>) {  // no exemplars
              const auto& exemplars = points[p].exemplars();
              for (int e = 0; e < exemplars.size(); ++e) {
                const auto path = [&] {
                  return fmt::format(
                      "resource_metrics[{}].scope_metrics[{}].metrics[{}].{}.data_points[{}]."
                      "exemplars[{}]",
                      index, s, m, kind, p, e);
                };
                ARROW_RETURN_NOT_OK(CheckId(exemplars[e].trace_id(), kTraceIdSize, "trace_id", path));
                ARROW_RETURN_NOT_OK(CheckId(exemplars[e].span_id(), kSpanIdSize, "span_id", path));
              }
            }
          }
          return arrow::Status::OK();
        };
        switch (metric.data_case()) {
          case metrics::Metric::kGauge:
            ARROW_RETURN_NOT_OK(check_points(metric.gauge().data_points(), "gauge"));
            break;
          case metrics::Metric::kSum:
            ARROW_RETURN_NOT_OK(check_points(metric.sum().data_points(), "sum"));
            break;
          case metrics::Metric::kHistogram:
            ARROW_RETURN_NOT_OK(check_points(metric.histogram().data_points(), "histogram"));
            break;
          case metrics::Metric::kExponentialHistogram:
            ARROW_RETURN_NOT_OK(check_points(metric.exponential_histogram().data_points(), "exponential_histogram"));
            break;
          case metrics::Metric::kSummary:
            ARROW_RETURN_NOT_OK(check_points(metric.summary().data_points(), "summary"));
            break;
          default:  // a metric without data has no rows
            break;
        }
      }
    }
    return rows;
  }

  arrow::Status Append(const metrics::ResourceMetrics& r) {
    ForgetChecked({&resource_attributes_, &scope_attributes_, &attributes_, &exemplar_attributes_});
    resource_ = &r;
    service_ = ServiceName(r.resource().attributes(), &service_name_);
    for (const auto& scope_metrics : r.scope_metrics()) {
      scope_metrics_ = &scope_metrics;
      for (const metrics::Metric& metric : scope_metrics.metrics()) {
        metric_ = &metric;
        ARROW_RETURN_NOT_OK(AppendMetric(metric));
      }
    }
    return arrow::Status::OK();
  }

 private:
  template <class ValueBuilder>
  NumberListColumn<ValueBuilder> AddNumberList(std::shared_ptr<arrow::DataType> value_type) {
    auto values = std::make_shared<ValueBuilder>(pool_);
    NumberListColumn<ValueBuilder> column;
    column.values = values.get();
    column.list = Add<arrow::ListBuilder>(pool_, values, arrow::list(std::move(value_type)));
    return column;
  }

  static std::optional<double> NumberValue(const metrics::NumberDataPoint& p) {
    switch (p.value_case()) {
      case metrics::NumberDataPoint::kAsDouble:
        return p.as_double();
      case metrics::NumberDataPoint::kAsInt:
        return static_cast<double>(p.as_int());
      default:
        return std::nullopt;
    }
  }

  template <class T>
  static std::optional<T> If(bool has, T value) {
    return has ? std::optional<T>(value) : std::nullopt;
  }

  arrow::Status AppendMetric(const metrics::Metric& metric) {
    switch (metric.data_case()) {
      case metrics::Metric::kGauge:
        for (const auto& p : metric.gauge().data_points()) {
          ARROW_RETURN_NOT_OK(AppendPoint({.type = "Gauge",
                                           .attributes = &p.attributes(),
                                           .start_time = p.start_time_unix_nano(),
                                           .time = p.time_unix_nano(),
                                           .flags = p.flags(),
                                           .value = NumberValue(p),
                                           .exemplars = &p.exemplars()}));
        }
        break;
      case metrics::Metric::kSum: {
        const metrics::Sum& sum = metric.sum();
        for (const auto& p : sum.data_points()) {
          ARROW_RETURN_NOT_OK(AppendPoint({.type = "Sum",
                                           .attributes = &p.attributes(),
                                           .start_time = p.start_time_unix_nano(),
                                           .time = p.time_unix_nano(),
                                           .flags = p.flags(),
                                           .value = NumberValue(p),
                                           .exemplars = &p.exemplars(),
                                           .temporality = sum.aggregation_temporality(),
                                           .monotonic = sum.is_monotonic()}));
        }
        break;
      }
      case metrics::Metric::kHistogram: {
        const metrics::Histogram& histogram = metric.histogram();
        for (const auto& p : histogram.data_points()) {
          ARROW_RETURN_NOT_OK(AppendPoint({.type = "Histogram",
                                           .attributes = &p.attributes(),
                                           .start_time = p.start_time_unix_nano(),
                                           .time = p.time_unix_nano(),
                                           .flags = p.flags(),
                                           .count = p.count(),
                                           .sum = If(p.has_sum(), p.sum()),
                                           .bucket_counts = &p.bucket_counts(),
                                           .explicit_bounds = &p.explicit_bounds(),
                                           .exemplars = &p.exemplars(),
                                           .min = If(p.has_min(), p.min()),
                                           .max = If(p.has_max(), p.max()),
                                           .temporality = histogram.aggregation_temporality()}));
        }
        break;
      }
      case metrics::Metric::kExponentialHistogram: {
        const metrics::ExponentialHistogram& histogram = metric.exponential_histogram();
        for (const auto& p : histogram.data_points()) {
          ARROW_RETURN_NOT_OK(AppendPoint({.type = "ExponentialHistogram",
                                           .attributes = &p.attributes(),
                                           .start_time = p.start_time_unix_nano(),
                                           .time = p.time_unix_nano(),
                                           .flags = p.flags(),
                                           .count = p.count(),
                                           .sum = If(p.has_sum(), p.sum()),
                                           .scale = p.scale(),
                                           .zero_count = p.zero_count(),
                                           .zero_threshold = p.zero_threshold(),
                                           .positive = &p.positive(),
                                           .negative = &p.negative(),
                                           .exemplars = &p.exemplars(),
                                           .min = If(p.has_min(), p.min()),
                                           .max = If(p.has_max(), p.max()),
                                           .temporality = histogram.aggregation_temporality()}));
        }
        break;
      }
      case metrics::Metric::kSummary:
        for (const auto& p : metric.summary().data_points()) {
          ARROW_RETURN_NOT_OK(AppendPoint({.type = "Summary",
                                           .attributes = &p.attributes(),
                                           .start_time = p.start_time_unix_nano(),
                                           .time = p.time_unix_nano(),
                                           .flags = p.flags(),
                                           .count = p.count(),
                                           .sum = p.sum(),
                                           .quantiles = &p.quantile_values()}));
        }
        break;
      default:
        break;
    }
    return arrow::Status::OK();
  }

  arrow::Status AppendPoint(const PointColumns& p) {
    const auto& scope = scope_metrics_->scope();
    ARROW_RETURN_NOT_OK(WriteAttributes(resource_->resource().attributes(), &resource_attributes_, &scratch_));
    ARROW_RETURN_NOT_OK(resource_schema_url_->Append(resource_->schema_url()));
    ARROW_RETURN_NOT_OK(scope_name_->Append(scope.name()));
    ARROW_RETURN_NOT_OK(scope_version_->Append(scope.version()));
    ARROW_RETURN_NOT_OK(WriteAttributes(scope.attributes(), &scope_attributes_, &scratch_));
    scope_dropped_->UnsafeAppend(scope.dropped_attributes_count());
    ARROW_RETURN_NOT_OK(scope_schema_url_->Append(scope_metrics_->schema_url()));
    ARROW_RETURN_NOT_OK(service_name_col_->Append(service_));
    ARROW_RETURN_NOT_OK(metric_name_->Append(metric_->name()));
    ARROW_RETURN_NOT_OK(metric_description_->Append(metric_->description()));
    ARROW_RETURN_NOT_OK(metric_unit_->Append(metric_->unit()));
    ARROW_RETURN_NOT_OK(metric_type_->Append(p.type));
    ARROW_RETURN_NOT_OK(WriteAttributes(*p.attributes, &attributes_, &scratch_));
    if (p.start_time == 0) {
      start_time_->UnsafeAppendNull();  // 0 is "unknown" in OTLP
    } else {
      start_time_->UnsafeAppend(Nanos(p.start_time));
    }
    time_->UnsafeAppend(Nanos(p.time));
    UnsafeAppendOptional(p.value, value_);
    UnsafeAppendOptional(p.count, count_);
    UnsafeAppendOptional(p.sum, sum_);
    ARROW_RETURN_NOT_OK(bucket_counts_.Append(p.bucket_counts));
    ARROW_RETURN_NOT_OK(explicit_bounds_.Append(p.explicit_bounds));
    UnsafeAppendOptional(p.scale, scale_);
    UnsafeAppendOptional(p.zero_count, zero_count_);
    UnsafeAppendOptional(p.zero_threshold, zero_threshold_);
    ARROW_RETURN_NOT_OK(AppendBuckets(p.positive, positive_offset_, &positive_counts_));
    ARROW_RETURN_NOT_OK(AppendBuckets(p.negative, negative_offset_, &negative_counts_));

    if (p.quantiles == nullptr) {
      ARROW_RETURN_NOT_OK(quantiles_->AppendNull());
    } else {
      ARROW_RETURN_NOT_OK(quantiles_->Append());
      for (const auto& q : *p.quantiles) {
        ARROW_RETURN_NOT_OK(quantile_struct_->Append());
        ARROW_RETURN_NOT_OK(quantile_->Append(q.quantile()));
        ARROW_RETURN_NOT_OK(quantile_value_->Append(q.value()));
      }
    }

    if (p.exemplars == nullptr) {
      ARROW_RETURN_NOT_OK(exemplars_->AppendNull());
    } else {
      ARROW_RETURN_NOT_OK(exemplars_->Append());
      for (const metrics::Exemplar& e : *p.exemplars) {
        ARROW_RETURN_NOT_OK(exemplar_->Append());
        ARROW_RETURN_NOT_OK(WriteAttributes(e.filtered_attributes(), &exemplar_attributes_, &scratch_));
        ARROW_RETURN_NOT_OK(exemplar_time_->Append(Nanos(e.time_unix_nano())));
        switch (e.value_case()) {
          case metrics::Exemplar::kAsDouble:
            ARROW_RETURN_NOT_OK(exemplar_value_->Append(e.as_double()));
            break;
          case metrics::Exemplar::kAsInt:
            ARROW_RETURN_NOT_OK(exemplar_value_->Append(static_cast<double>(e.as_int())));
            break;
          default:
            ARROW_RETURN_NOT_OK(exemplar_value_->AppendNull());
        }
        ARROW_RETURN_NOT_OK(AppendId(e.span_id(), exemplar_span_id_));
        ARROW_RETURN_NOT_OK(AppendId(e.trace_id(), exemplar_trace_id_));
      }
    }

    flags_->UnsafeAppend(p.flags);
    UnsafeAppendOptional(p.min, min_);
    UnsafeAppendOptional(p.max, max_);
    UnsafeAppendOptional(p.temporality, temporality_);
    UnsafeAppendOptional(p.monotonic, monotonic_);
    return arrow::Status::OK();
  }

  // Offset and counts of one side of an exponential histogram; null for the other kinds.
  static arrow::Status AppendBuckets(const metrics::ExponentialHistogramDataPoint::Buckets* buckets,
                                     arrow::Int32Builder* offset, NumberListColumn<arrow::UInt64Builder>* counts) {
    if (buckets == nullptr) {
      offset->UnsafeAppendNull();
      return counts->Append<uint64_t>(nullptr);
    }
    offset->UnsafeAppend(buckets->offset());
    return counts->Append(&buckets->bucket_counts());
  }

  // The resource, scope and metric of the rows being appended.
  const metrics::ResourceMetrics* resource_ = nullptr;
  const metrics::ScopeMetrics* scope_metrics_ = nullptr;
  const metrics::Metric* metric_ = nullptr;
  std::string_view service_;

  MapColumn resource_attributes_;
  arrow::StringBuilder* resource_schema_url_;
  arrow::StringBuilder* scope_name_;
  arrow::StringBuilder* scope_version_;
  MapColumn scope_attributes_;
  arrow::UInt32Builder* scope_dropped_;
  arrow::StringBuilder* scope_schema_url_;
  arrow::StringBuilder* service_name_col_;
  arrow::StringBuilder* metric_name_;
  arrow::StringBuilder* metric_description_;
  arrow::StringBuilder* metric_unit_;
  arrow::StringBuilder* metric_type_;
  MapColumn attributes_;
  arrow::TimestampBuilder* start_time_;
  arrow::TimestampBuilder* time_;
  arrow::DoubleBuilder* value_;
  arrow::UInt64Builder* count_;
  arrow::DoubleBuilder* sum_;
  NumberListColumn<arrow::UInt64Builder> bucket_counts_;
  NumberListColumn<arrow::DoubleBuilder> explicit_bounds_;
  arrow::Int32Builder* scale_;
  arrow::UInt64Builder* zero_count_;
  arrow::DoubleBuilder* zero_threshold_;
  arrow::Int32Builder* positive_offset_;
  NumberListColumn<arrow::UInt64Builder> positive_counts_;
  arrow::Int32Builder* negative_offset_;
  NumberListColumn<arrow::UInt64Builder> negative_counts_;
  arrow::ListBuilder* quantiles_;
  arrow::StructBuilder* quantile_struct_;
  arrow::DoubleBuilder* quantile_;
  arrow::DoubleBuilder* quantile_value_;
  arrow::ListBuilder* exemplars_;
  arrow::StructBuilder* exemplar_;
  MapColumn exemplar_attributes_;
  arrow::TimestampBuilder* exemplar_time_;
  arrow::DoubleBuilder* exemplar_value_;
  arrow::FixedSizeBinaryBuilder* exemplar_span_id_;
  arrow::FixedSizeBinaryBuilder* exemplar_trace_id_;
  arrow::UInt32Builder* flags_;
  arrow::DoubleBuilder* min_;
  arrow::DoubleBuilder* max_;
  arrow::Int32Builder* temporality_;
  arrow::BooleanBuilder* monotonic_;
};

std::unique_ptr<SignalColumns> MakeColumns(Signal signal, arrow::MemoryPool* pool) {
  switch (signal) {
    case Signal::kTraces:
      return std::make_unique<SpanColumns>(pool);
    case Signal::kMetrics:
      return std::make_unique<MetricColumns>(pool);
    case Signal::kLogs:
    default:
      return std::make_unique<LogColumns>(pool);
  }
}

}  // namespace

// ---- Public API --------------------------------------------------------------------------------

const char* SignalText(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "logs";
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
  }
  return "unknown";
}

std::shared_ptr<arrow::Schema> SchemaFor(Signal signal) {
  static const auto logs_schema = MakeLogsSchema();
  static const auto traces_schema = MakeTracesSchema();
  static const auto metrics_schema = MakeMetricsSchema();
  switch (signal) {
    case Signal::kTraces:
      return traces_schema;
    case Signal::kMetrics:
      return metrics_schema;
    case Signal::kLogs:
    default:
      return logs_schema;
  }
}

ArrowConverter::ArrowConverter(Signal signal, arrow::MemoryPool* pool)
    : signal_(signal), columns_(MakeColumns(signal, pool)) {}

ArrowConverter::~ArrowConverter() = default;
ArrowConverter::ArrowConverter(ArrowConverter&&) noexcept = default;
ArrowConverter& ArrowConverter::operator=(ArrowConverter&&) noexcept = default;

arrow::Status ArrowConverter::BeginAppend(Signal wanted) {
  if (wanted != signal_) {
    return arrow::Status::Invalid("an ArrowConverter for ", SignalText(signal_), " cannot append ", SignalText(wanted));
  }
  return failed_;
}

// The three Appends: check every id and count the rows, reserve, then append. A builder error
// after the check leaves the columns uneven: remembered in failed_ until Finish() discards them.
template <class Columns, class Resource>
static arrow::Status AppendResource(SignalColumns* base, const Resource& r, int index, int64_t* rows,
                                    arrow::Status* failed) {
  auto* columns = static_cast<Columns*>(base);
  ARROW_ASSIGN_OR_RAISE(const int64_t n, Columns::Check(r, index));
  if (n == 0) return arrow::Status::OK();
  arrow::Status st = columns->Reserve(n);
  if (st.ok()) st = columns->Append(r);
  if (!st.ok()) {
    *failed = st;
    return st;
  }
  *rows += n;
  return arrow::Status::OK();
}

arrow::Status ArrowConverter::Append(const logs::ResourceLogs& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kLogs));
  return AppendResource<LogColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

arrow::Status ArrowConverter::Append(const trace::ResourceSpans& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kTraces));
  return AppendResource<SpanColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

arrow::Status ArrowConverter::Append(const metrics::ResourceMetrics& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kMetrics));
  return AppendResource<MetricColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ArrowConverter::Finish() {
  const int64_t rows = rows_;
  rows_ = 0;
  resources_ = 0;
  if (!failed_.ok()) {
    columns_->Reset();
    return std::exchange(failed_, arrow::Status::OK());
  }
  return columns_->Finish(rows);
}

}  // namespace openwit::ingest
