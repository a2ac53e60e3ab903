#pragma once
// OTLP read straight from the protobuf wire format: views of the messages the Arrow converter
// reads, with the accessors of the generated classes (so the converter's templates take either),
// strings and bytes as views into the serialized bytes, and nothing allocated once the decoder's
// vectors are warm. A full protobuf parse of a batch builds and frees an object per attribute;
// the profile of the ingest node showed parse and destruction at ~20% of its CPU.
//
// The decoder gives protobuf's result or leaves the message to protobuf: what it reads itself is
// read with protobuf's rules (last value of a scalar wins, a field of the wrong wire type is an
// unknown field, unknown fields are skipped, strings must be UTF-8), and a message it would have to
// merge (a singular message field given twice, a metric's data given twice), a list not written
// in one run, a group, or malformed bytes make it answer kUseProtobuf, after which the caller
// parses the message with protobuf (the exact semantics, or protobuf's refusal). Arrays and
// kvlists inside values are parsed by protobuf: rare in telemetry. Decoders: LogsDecoder,
// TracesDecoder, MetricsDecoder, one per signal's resource message. otlp_wire_test.cc holds them
// to protobuf's reading over tens of thousands of mutated messages.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/status.h>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"

namespace openwit::otlp::wire {

namespace pb = opentelemetry::proto::common::v1;
namespace pm = opentelemetry::proto::metrics::v1;

// Whether a string field's bytes are UTF-8, as protobuf requires of proto3 strings.
bool IsUtf8(std::string_view text);

// Reads the fields of one message.
class Reader {
 public:
  struct Field {
    uint32_t number = 0;
    uint32_t type = 0;       // wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
    uint64_t scalar = 0;     // a varint or fixed field's value
    std::string_view bytes;  // a length-delimited field's bytes (empty for the other types)
  };
  enum class Error { kNone, kMalformed, kGroup };

  explicit Reader(std::string_view data) : data_(data) {}
  // False at the end of the message or at an error (error() says which).
  bool Next(Field* f);
  Error error() const { return error_; }
  // A varint at data[*pos], moving *pos past it; false if it runs past the end or 10 bytes.
  static bool ReadVarint(std::string_view data, size_t* pos, uint64_t* out);

 private:
  bool Varint(uint64_t* out) { return ReadVarint(data_, &pos_, out); }
  std::string_view data_;
  size_t pos_ = 0;
  Error error_ = Error::kNone;
};

class AnyValue {
 public:
  using ValueCase = pb::AnyValue::ValueCase;
  ValueCase value_case() const { return case_; }
  const std::string_view& string_value() const { return text_; }
  const std::string_view& bytes_value() const { return text_; }
  bool bool_value() const { return scalar_ != 0; }
  int64_t int_value() const { return static_cast<int64_t>(scalar_); }
  double double_value() const;
  // Only for kArrayValue / kKvlistValue: protobuf's parse of the whole value.
  const pb::ArrayValue& array_value() const { return parsed_->array_value(); }
  const pb::KeyValueList& kvlist_value() const { return parsed_->kvlist_value(); }

 private:
  friend class Decoder;
  ValueCase case_ = pb::AnyValue::VALUE_NOT_SET;
  std::string_view text_;
  uint64_t scalar_ = 0;
  const pb::AnyValue* parsed_ = nullptr;
};

class KeyValue {
 public:
  const std::string_view& key() const { return key_; }
  const AnyValue& value() const { return value_; }

 private:
  friend class Decoder;
  std::string_view key_;
  AnyValue value_;
};

using Attributes = std::span<const KeyValue>;

// Where a message's list of attributes (or records) is in the decoder's storage, until the
// storage stops growing and the views are made.
struct Slice {
  uint32_t first = 0;
  uint32_t size = 0;
};

class Resource {
 public:
  const Attributes& attributes() const { return attributes_; }

 private:
  friend class Decoder;
  Attributes attributes_;
  Slice attribute_slice_;
};

class InstrumentationScope {
 public:
  const std::string_view& name() const { return name_; }
  const std::string_view& version() const { return version_; }
  const Attributes& attributes() const { return attributes_; }
  uint32_t dropped_attributes_count() const { return dropped_attributes_count_; }

 private:
  friend class Decoder;
  std::string_view name_, version_;
  Attributes attributes_;
  Slice attribute_slice_;
  uint32_t dropped_attributes_count_ = 0;
};

class LogRecord {
 public:
  uint64_t time_unix_nano() const { return time_unix_nano_; }
  uint64_t observed_time_unix_nano() const { return observed_time_unix_nano_; }
  int32_t severity_number() const { return severity_number_; }
  const std::string_view& severity_text() const { return severity_text_; }
  const AnyValue& body() const { return body_; }
  const Attributes& attributes() const { return attributes_; }
  uint32_t flags() const { return flags_; }
  const std::string_view& trace_id() const { return trace_id_; }
  const std::string_view& span_id() const { return span_id_; }
  const std::string_view& event_name() const { return event_name_; }

 private:
  friend class Decoder;
  friend class LogsDecoder;
  uint64_t time_unix_nano_ = 0;
  uint64_t observed_time_unix_nano_ = 0;
  int32_t severity_number_ = 0;
  uint32_t flags_ = 0;
  std::string_view severity_text_, trace_id_, span_id_, event_name_;
  AnyValue body_;
  Attributes attributes_;
  Slice attribute_slice_;
};

class SpanEvent {
 public:
  uint64_t time_unix_nano() const { return time_unix_nano_; }
  const std::string_view& name() const { return name_; }
  const Attributes& attributes() const { return attributes_; }

 private:
  friend class Decoder;
  friend class TracesDecoder;
  uint64_t time_unix_nano_ = 0;
  std::string_view name_;
  Attributes attributes_;
  Slice attribute_slice_;
};

class SpanLink {
 public:
  const std::string_view& trace_id() const { return trace_id_; }
  const std::string_view& span_id() const { return span_id_; }
  const std::string_view& trace_state() const { return trace_state_; }
  const Attributes& attributes() const { return attributes_; }

 private:
  friend class Decoder;
  friend class TracesDecoder;
  std::string_view trace_id_, span_id_, trace_state_;
  Attributes attributes_;
  Slice attribute_slice_;
};

class SpanStatus {
 public:
  int32_t code() const { return code_; }
  const std::string_view& message() const { return message_; }

 private:
  friend class TracesDecoder;
  int32_t code_ = 0;
  std::string_view message_;
};

class Span {
 public:
  const std::string_view& trace_id() const { return trace_id_; }
  const std::string_view& span_id() const { return span_id_; }
  const std::string_view& parent_span_id() const { return parent_span_id_; }
  const std::string_view& trace_state() const { return trace_state_; }
  const std::string_view& name() const { return name_; }
  int32_t kind() const { return kind_; }
  uint64_t start_time_unix_nano() const { return start_time_unix_nano_; }
  uint64_t end_time_unix_nano() const { return end_time_unix_nano_; }
  const Attributes& attributes() const { return attributes_; }
  const std::span<const SpanEvent>& events() const { return events_; }
  const std::span<const SpanLink>& links() const { return links_; }
  int links_size() const { return static_cast<int>(links_.size()); }
  const SpanLink& links(int i) const { return links_[static_cast<size_t>(i)]; }
  const SpanStatus& status() const { return status_; }

 private:
  friend class Decoder;
  friend class TracesDecoder;
  std::string_view trace_id_, span_id_, parent_span_id_, trace_state_, name_;
  int32_t kind_ = 0;
  uint64_t start_time_unix_nano_ = 0, end_time_unix_nano_ = 0;
  Attributes attributes_;
  Slice attribute_slice_;
  std::span<const SpanEvent> events_;
  Slice event_slice_;
  std::span<const SpanLink> links_;
  Slice link_slice_;
  SpanStatus status_;
};

// Repeated numbers (histogram buckets and bounds), copied out of the bytes: packed or not, as
// protobuf reads them.
template <class T>
class Numbers {
 public:
  const T* data() const { return values_.data(); }
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }

 private:
  friend class MetricsDecoder;
  std::span<const T> values_;
  Slice slice_;
};

class Exemplar {
 public:
  using ValueCase = pm::Exemplar::ValueCase;
  const Attributes& filtered_attributes() const { return attributes_; }
  uint64_t time_unix_nano() const { return time_unix_nano_; }
  ValueCase value_case() const { return value_case_; }
  double as_double() const { return as_double_; }
  int64_t as_int() const { return as_int_; }
  const std::string_view& span_id() const { return span_id_; }
  const std::string_view& trace_id() const { return trace_id_; }

 private:
  friend class MetricsDecoder;
  Attributes attributes_;
  Slice attribute_slice_;
  uint64_t time_unix_nano_ = 0;
  ValueCase value_case_ = pm::Exemplar::VALUE_NOT_SET;
  double as_double_ = 0;
  int64_t as_int_ = 0;
  std::string_view span_id_, trace_id_;
};

// The fields of the five kinds of data points, each kind reading those it has.
class DataPoint {
 public:
  using ValueCase = pm::NumberDataPoint::ValueCase;
  const Attributes& attributes() const { return attributes_; }
  uint64_t start_time_unix_nano() const { return start_time_unix_nano_; }
  uint64_t time_unix_nano() const { return time_unix_nano_; }
  uint32_t flags() const { return flags_; }
  const std::span<const Exemplar>& exemplars() const { return exemplars_; }
  // Gauge and sum.
  ValueCase value_case() const { return value_case_; }
  double as_double() const { return as_double_; }
  int64_t as_int() const { return as_int_; }
  // Histograms and summaries.
  uint64_t count() const { return count_; }
  bool has_sum() const { return has_sum_; }
  double sum() const { return sum_; }
  bool has_min() const { return has_min_; }
  double min() const { return min_; }
  bool has_max() const { return has_max_; }
  double max() const { return max_; }
  const Numbers<uint64_t>& bucket_counts() const { return bucket_counts_; }
  const Numbers<double>& explicit_bounds() const { return explicit_bounds_; }
  // Exponential histograms.
  class Buckets {
   public:
    int32_t offset() const { return offset_; }
    const Numbers<uint64_t>& bucket_counts() const { return bucket_counts_; }

   private:
    friend class MetricsDecoder;
    int32_t offset_ = 0;
    Numbers<uint64_t> bucket_counts_;
  };
  int32_t scale() const { return scale_; }
  uint64_t zero_count() const { return zero_count_; }
  double zero_threshold() const { return zero_threshold_; }
  const Buckets& positive() const { return positive_; }
  const Buckets& negative() const { return negative_; }
  // Summaries.
  struct ValueAtQuantile {
    double quantile_ = 0, value_ = 0;
    double quantile() const { return quantile_; }
    double value() const { return value_; }
  };
  const std::span<const ValueAtQuantile>& quantile_values() const { return quantiles_; }

 private:
  friend class MetricsDecoder;
  Attributes attributes_;
  Slice attribute_slice_;
  uint64_t start_time_unix_nano_ = 0, time_unix_nano_ = 0;
  uint32_t flags_ = 0;
  std::span<const Exemplar> exemplars_;
  Slice exemplar_slice_;
  ValueCase value_case_ = pm::NumberDataPoint::VALUE_NOT_SET;
  double as_double_ = 0;
  int64_t as_int_ = 0;
  uint64_t count_ = 0;
  bool has_sum_ = false, has_min_ = false, has_max_ = false;
  double sum_ = 0, min_ = 0, max_ = 0;
  Numbers<uint64_t> bucket_counts_;
  Numbers<double> explicit_bounds_;
  int32_t scale_ = 0;
  uint64_t zero_count_ = 0;
  double zero_threshold_ = 0;
  Buckets positive_, negative_;
  std::span<const ValueAtQuantile> quantiles_;
  Slice quantile_slice_;
};

// gauge(), sum(), histogram(), exponential_histogram() and summary() are the same view: the data
// of the kind data_case() says.
class MetricData {
 public:
  const std::span<const DataPoint>& data_points() const { return points_; }
  pm::AggregationTemporality aggregation_temporality() const { return temporality_; }
  bool is_monotonic() const { return is_monotonic_; }

 private:
  friend class MetricsDecoder;
  std::span<const DataPoint> points_;
  Slice point_slice_;
  pm::AggregationTemporality temporality_ = pm::AGGREGATION_TEMPORALITY_UNSPECIFIED;
  bool is_monotonic_ = false;
};

class Metric {
 public:
  using DataCase = pm::Metric::DataCase;
  const std::string_view& name() const { return name_; }
  const std::string_view& description() const { return description_; }
  const std::string_view& unit() const { return unit_; }
  DataCase data_case() const { return data_case_; }
  const MetricData& gauge() const { return data_; }
  const MetricData& sum() const { return data_; }
  const MetricData& histogram() const { return data_; }
  const MetricData& exponential_histogram() const { return data_; }
  const MetricData& summary() const { return data_; }

 private:
  friend class MetricsDecoder;
  std::string_view name_, description_, unit_;
  DataCase data_case_ = pm::Metric::DATA_NOT_SET;
  MetricData data_;
};

// A scope and its records, and a resource and its scopes: the same shape in every signal, with
// the generated classes' names for each (scope_logs / log_records, scope_spans / spans).
template <class Record>
class ScopeOf {
 public:
  const InstrumentationScope& scope() const { return scope_; }
  const std::string_view& schema_url() const { return schema_url_; }

 protected:
  friend class Decoder;
  InstrumentationScope scope_;
  std::string_view schema_url_;
  std::span<const Record> records_;
  Slice record_slice_;
};

class ScopeLogs : public ScopeOf<LogRecord> {
 public:
  const std::span<const LogRecord>& log_records() const { return records_; }
};

class ScopeSpans : public ScopeOf<Span> {
 public:
  const std::span<const Span>& spans() const { return records_; }
};

template <class Scope>
class ResourceOf {
 public:
  const Resource& resource() const { return resource_; }
  const std::string_view& schema_url() const { return schema_url_; }

 protected:
  friend class Decoder;
  Resource resource_;
  std::string_view schema_url_;
  std::span<const Scope> scopes_;
};

class ResourceLogs : public ResourceOf<ScopeLogs> {
 public:
  const std::span<const ScopeLogs>& scope_logs() const { return scopes_; }
  int scope_logs_size() const { return static_cast<int>(scopes_.size()); }
  const ScopeLogs& scope_logs(int i) const { return scopes_[static_cast<size_t>(i)]; }
};

class ScopeMetrics : public ScopeOf<Metric> {
 public:
  const std::span<const Metric>& metrics() const { return records_; }
};

class ResourceMetrics : public ResourceOf<ScopeMetrics> {
 public:
  const std::span<const ScopeMetrics>& scope_metrics() const { return scopes_; }
  int scope_metrics_size() const { return static_cast<int>(scopes_.size()); }
  const ScopeMetrics& scope_metrics(int i) const { return scopes_[static_cast<size_t>(i)]; }
};

class ResourceSpans : public ResourceOf<ScopeSpans> {
 public:
  const std::span<const ScopeSpans>& scope_spans() const { return scopes_; }
  int scope_spans_size() const { return static_cast<int>(scopes_.size()); }
  const ScopeSpans& scope_spans(int i) const { return scopes_[static_cast<size_t>(i)]; }
};

// What a decode gives: the views, a precise Invalid (a string that is not UTF-8, naming its path),
// or kUseProtobuf.
enum class Decoded { kOk, kInvalid, kUseProtobuf };

// The parts shared by the decoders of each signal: values, attribute lists, scopes, resources.
class Decoder {
 public:
  // The Invalid of the last kInvalid.
  const arrow::Status& status() const { return status_; }

 protected:
  Decoded DecodeValue(std::string_view bytes, AnyValue* out);
  // Appends one attribute (a repeated KeyValue field's bytes) to kvs_ and counts it in *slice.
  Decoded AddAttribute(std::string_view bytes, Slice* slice);
  Decoded DecodeResource(std::string_view bytes, Resource* out);
  Decoded DecodeScope(std::string_view bytes, InstrumentationScope* out);
  // A string field: *out = bytes if they are UTF-8 (protobuf's rule for proto3 strings), else an
  // Invalid naming the field's path.
  Decoded Text(std::string_view bytes, const char* field, std::string_view* out);
  Attributes View(const Slice& slice) const { return {kvs_.data() + slice.first, slice.size}; }
  template <class T>
  static std::span<const T> View(const std::vector<T>& all, const Slice& slice) {
    return {all.data() + slice.first, slice.size};
  }
  void Clear();

  // A resource of any signal: {1: resource, 2: scope list {1: scope, 2: record, 3: schema_url},
  // 3: schema_url}. `names` are the lists' names in paths ("resource_logs", "scope_logs",
  // "log_records"); decode_record(bytes, record) reads one record. Makes the views of the
  // resource, its scopes and their attributes; the records' own views are the caller's.
  struct ListNames {
    const char* resources;
    const char* scopes;
    const char* records;
  };
  template <class ResourceT, class ScopeT, class RecordT, class DecodeRecord>
  Decoded DecodeResourceOf(std::string_view bytes, int index, const ListNames& names, ResourceT* resource,
                           std::vector<ScopeT>* scopes, std::vector<RecordT>* records, DecodeRecord&& decode_record);

  // Where the decoder is, for error messages: ("resource_logs", 0), ("scope_logs", 1), ("scope",
  // -1)... rendered only when an error names it.
  struct PathPart {
    const char* name;
    int index;  // -1: a singular field
  };
  class At {
   public:
    At(Decoder* d, const char* name, int index = -1) : d_(d) { d_->path_.push_back({name, index}); }
    ~At() { d_->path_.pop_back(); }
    At(const At&) = delete;
    At& operator=(const At&) = delete;

   private:
    Decoder* d_;
  };

  std::vector<KeyValue> kvs_;
  std::deque<pb::AnyValue> parsed_values_;  // arrays and kvlists; a deque keeps their addresses
  std::vector<PathPart> path_;
  arrow::Status status_;
};

// Decodes the bytes of one ResourceLogs. The views stay valid until the next Decode and while the
// bytes live. Not thread-safe; reuse one per thread.
class LogsDecoder : public Decoder {
 public:
  // `index` is the resource's position in its batch, for error paths ("resource_logs[index]...").
  Decoded Decode(std::string_view bytes, int index);
  const ResourceLogs& resource() const { return resource_; }

 private:
  Decoded DecodeRecord(std::string_view bytes, LogRecord* out);

  ResourceLogs resource_;
  std::vector<ScopeLogs> scopes_;
  std::vector<LogRecord> records_;
};

// The same for one ResourceSpans.
class TracesDecoder : public Decoder {
 public:
  Decoded Decode(std::string_view bytes, int index);
  const ResourceSpans& resource() const { return resource_; }

 private:
  Decoded DecodeSpan(std::string_view bytes, Span* out);
  Decoded DecodeEvent(std::string_view bytes, SpanEvent* out);
  Decoded DecodeLink(std::string_view bytes, SpanLink* out);
  Decoded DecodeStatus(std::string_view bytes, SpanStatus* out);

  ResourceSpans resource_;
  std::vector<ScopeSpans> scopes_;
  std::vector<Span> records_;
  std::vector<SpanEvent> events_;
  std::vector<SpanLink> links_;
};

// The same for one ResourceMetrics.
class MetricsDecoder : public Decoder {
 public:
  Decoded Decode(std::string_view bytes, int index);
  const ResourceMetrics& resource() const { return resource_; }

 private:
  Decoded DecodeMetric(std::string_view bytes, Metric* out);
  Decoded DecodeData(std::string_view bytes, pm::Metric::DataCase kind, MetricData* out);
  Decoded DecodePoint(std::string_view bytes, pm::Metric::DataCase kind, DataPoint* out);
  Decoded DecodeBuckets(std::string_view bytes, DataPoint::Buckets* out);
  Decoded DecodeExemplar(std::string_view bytes, Exemplar* out);
  // One field of a repeated fixed64 / double / varint list, packed or not.
  template <class T>
  Decoded AddNumbers(const Reader::Field& f, bool fixed, std::vector<T>* all, Numbers<T>* out);

  ResourceMetrics resource_;
  std::vector<ScopeMetrics> scopes_;
  std::vector<Metric> records_;
  std::vector<DataPoint> points_;
  std::vector<Exemplar> exemplars_;
  std::vector<DataPoint::ValueAtQuantile> quantiles_;
  std::vector<uint64_t> u64_;
  std::vector<double> f64_;
};

}  // namespace openwit::otlp::wire
