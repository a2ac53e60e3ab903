// OTLP -> Arrow conversion (ingest/arrow_convert.h): every column of every signal, the JSON text
// of non-string values, id checks with their field paths, reuse after Finish(), and a Parquet
// round trip of the result.

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace openwit::ingest {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace fs = std::filesystem;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;
using Entries = std::vector<std::pair<std::string, std::string>>;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kT0 = 1700000000123456789;  // 2023-11-14T22:13:20.123456789Z

// ---- Building OTLP messages --------------------------------------------------------------------

// n bytes first, first+1, ...: a recognisable id.
std::string Id(int n, int first) {
  std::string id;
  for (int i = 0; i < n; ++i) id.push_back(static_cast<char>(first + i));
  return id;
}

common::AnyValue* Attr(Attributes* attrs, const std::string& key) {
  common::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  return kv->mutable_value();
}

void StrAttr(Attributes* attrs, const std::string& key, const std::string& value) {
  Attr(attrs, key)->set_string_value(value);
}

// ---- Reading the batch -------------------------------------------------------------------------

template <class T = arrow::Array>
std::shared_ptr<T> Col(const arrow::RecordBatch& batch, const std::string& name) {
  auto column = batch.GetColumnByName(name);
  if (column == nullptr) {
    ADD_FAILURE() << "no column " << name;
    std::abort();
  }
  return std::static_pointer_cast<T>(column);
}

std::string Str(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col<arrow::StringArray>(batch, name)->GetString(row);
}

int64_t Nanos(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col<arrow::TimestampArray>(batch, name)->Value(row);
}

bool IsNull(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return Col(batch, name)->IsNull(row);
}

// Bytes of a fixed_size_binary cell, or "null".
std::string IdAt(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return "null";
  return static_cast<const arrow::FixedSizeBinaryArray&>(array).GetString(row);
}

std::string IdAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return IdAt(*Col(batch, name), row);
}

Entries MapAt(const arrow::Array& array, int64_t row) {
  const auto& map = static_cast<const arrow::MapArray&>(array);
  const auto& keys = static_cast<const arrow::StringArray&>(*map.keys());
  const auto& items = static_cast<const arrow::StringArray&>(*map.items());
  Entries entries;
  for (int64_t i = map.value_offset(row); i < map.value_offset(row + 1); ++i) {
    entries.emplace_back(keys.GetString(i), items.GetString(i));
  }
  return entries;
}

Entries MapAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  return MapAt(*Col(batch, name), row);
}

template <class T, class ArrayT = typename arrow::TypeTraits<T>::ArrayType>
std::vector<typename T::c_type> NumbersAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  const auto list = Col<arrow::ListArray>(batch, name);
  const auto& values = static_cast<const ArrayT&>(*list->values());
  std::vector<typename T::c_type> out;
  for (int64_t i = list->value_offset(row); i < list->value_offset(row + 1); ++i) {
    out.push_back(values.Value(i));
  }
  return out;
}

// The struct elements of a list<struct> cell: (struct array, first index, count).
struct ListCell {
  std::shared_ptr<arrow::StructArray> items;
  int64_t first = 0;
  int64_t size = 0;

  std::shared_ptr<arrow::Array> Field(const std::string& name) const { return items->GetFieldByName(name); }
  std::string Str(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::StringArray>(Field(name))->GetString(first + i);
  }
  int64_t Nanos(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::TimestampArray>(Field(name))->Value(first + i);
  }
  double Double(const std::string& name, int64_t i) const {
    return std::static_pointer_cast<arrow::DoubleArray>(Field(name))->Value(first + i);
  }
  std::string Id(const std::string& name, int64_t i) const { return IdAt(*Field(name), first + i); }
  Entries Map(const std::string& name, int64_t i) const { return MapAt(*Field(name), first + i); }
};

ListCell ListAt(const arrow::RecordBatch& batch, const std::string& name, int64_t row) {
  const auto list = Col<arrow::ListArray>(batch, name);
  return {std::static_pointer_cast<arrow::StructArray>(list->values()), list->value_offset(row),
          list->value_length(row)};
}

std::shared_ptr<arrow::RecordBatch> FinishOk(ArrowConverter* converter) {
  auto batch = converter->Finish();
  EXPECT_TRUE(batch.ok()) << batch.status();
  if (!batch.ok()) std::abort();
  EXPECT_TRUE((*batch)->ValidateFull().ok()) << (*batch)->ValidateFull();
  EXPECT_TRUE((*batch)->schema()->Equals(*SchemaFor(converter->signal())));
  EXPECT_EQ(converter->rows(), 0);
  return *batch;
}

// ---- Schemas -----------------------------------------------------------------------------------

struct ExpectedColumn {
  std::string name;
  std::shared_ptr<arrow::DataType> type;
  bool nullable;
};

void ExpectSchema(Signal signal, const std::vector<ExpectedColumn>& expected) {
  const auto schema = SchemaFor(signal);
  ASSERT_EQ(schema->num_fields(), static_cast<int>(expected.size())) << schema->ToString();
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& field = schema->field(static_cast<int>(i));
    EXPECT_EQ(field->name(), expected[i].name) << "column " << i;
    EXPECT_TRUE(field->type()->Equals(expected[i].type))
        << field->name() << ": " << field->type()->ToString() << " vs " << expected[i].type->ToString();
    EXPECT_EQ(field->nullable(), expected[i].nullable) << field->name();
  }
  EXPECT_EQ(SchemaFor(signal).get(), schema.get()) << "one schema object per signal";
}

const auto kTime = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
const auto kMap = arrow::map(arrow::utf8(), arrow::utf8());
const auto kTraceId = arrow::fixed_size_binary(16);
const auto kSpanId = arrow::fixed_size_binary(8);
const auto kUtf8 = arrow::utf8();

TEST(ArrowConvertSchema, Logs) {
  ExpectSchema(Signal::kLogs, {
                                  {"Timestamp", kTime, false},
                                  {"ObservedTimestamp", kTime, true},
                                  {"TraceId", kTraceId, true},
                                  {"SpanId", kSpanId, true},
                                  {"TraceFlags", arrow::uint32(), false},
                                  {"SeverityText", kUtf8, false},
                                  {"SeverityNumber", arrow::int32(), false},
                                  {"ServiceName", kUtf8, false},
                                  {"Body", kUtf8, false},
                                  {"ResourceSchemaUrl", kUtf8, false},
                                  {"ResourceAttributes", kMap, false},
                                  {"ScopeSchemaUrl", kUtf8, false},
                                  {"ScopeName", kUtf8, false},
                                  {"ScopeVersion", kUtf8, false},
                                  {"ScopeAttributes", kMap, false},
                                  {"LogAttributes", kMap, false},
                                  {"EventName", kUtf8, false},
                              });
}

TEST(ArrowConvertSchema, Traces) {
  const auto event =
      arrow::struct_({arrow::field("Timestamp", kTime), arrow::field("Name", kUtf8), arrow::field("Attributes", kMap)});
  const auto link = arrow::struct_({arrow::field("TraceId", kTraceId), arrow::field("SpanId", kSpanId),
                                    arrow::field("TraceState", kUtf8), arrow::field("Attributes", kMap)});
  ExpectSchema(Signal::kTraces, {
                                    {"Timestamp", kTime, false},
                                    {"TraceId", kTraceId, true},
                                    {"SpanId", kSpanId, true},
                                    {"ParentSpanId", kSpanId, true},
                                    {"TraceState", kUtf8, false},
                                    {"SpanName", kUtf8, false},
                                    {"SpanKind", kUtf8, false},
                                    {"ServiceName", kUtf8, false},
                                    {"ResourceSchemaUrl", kUtf8, false},
                                    {"ResourceAttributes", kMap, false},
                                    {"ScopeSchemaUrl", kUtf8, false},
                                    {"ScopeName", kUtf8, false},
                                    {"ScopeVersion", kUtf8, false},
                                    {"ScopeAttributes", kMap, false},
                                    {"SpanAttributes", kMap, false},
                                    {"Duration", arrow::int64(), false},
                                    {"StatusCode", kUtf8, false},
                                    {"StatusMessage", kUtf8, false},
                                    {"Events", arrow::list(event), false},
                                    {"Links", arrow::list(link), false},
                                });
}

TEST(ArrowConvertSchema, Metrics) {
  const auto quantile =
      arrow::struct_({arrow::field("Quantile", arrow::float64()), arrow::field("Value", arrow::float64())});
  const auto exemplar = arrow::struct_({arrow::field("FilteredAttributes", kMap), arrow::field("TimeUnix", kTime),
                                        arrow::field("Value", arrow::float64()), arrow::field("SpanId", kSpanId),
                                        arrow::field("TraceId", kTraceId)});
  const auto counts = arrow::list(arrow::uint64());
  ExpectSchema(Signal::kMetrics, {
                                     {"ResourceAttributes", kMap, false},
                                     {"ResourceSchemaUrl", kUtf8, false},
                                     {"ScopeName", kUtf8, false},
                                     {"ScopeVersion", kUtf8, false},
                                     {"ScopeAttributes", kMap, false},
                                     {"ScopeDroppedAttrCount", arrow::uint32(), false},
                                     {"ScopeSchemaUrl", kUtf8, false},
                                     {"ServiceName", kUtf8, false},
                                     {"MetricName", kUtf8, false},
                                     {"MetricDescription", kUtf8, false},
                                     {"MetricUnit", kUtf8, false},
                                     {"MetricType", kUtf8, false},
                                     {"Attributes", kMap, false},
                                     {"StartTimeUnix", kTime, true},
                                     {"TimeUnix", kTime, false},
                                     {"Value", arrow::float64(), true},
                                     {"Count", arrow::uint64(), true},
                                     {"Sum", arrow::float64(), true},
                                     {"BucketCounts", counts, true},
                                     {"ExplicitBounds", arrow::list(arrow::float64()), true},
                                     {"Scale", arrow::int32(), true},
                                     {"ZeroCount", arrow::uint64(), true},
                                     {"ZeroThreshold", arrow::float64(), true},
                                     {"PositiveOffset", arrow::int32(), true},
                                     {"PositiveBucketCounts", counts, true},
                                     {"NegativeOffset", arrow::int32(), true},
                                     {"NegativeBucketCounts", counts, true},
                                     {"ValueAtQuantiles", arrow::list(quantile), true},
                                     {"Exemplars", arrow::list(exemplar), true},
                                     {"Flags", arrow::uint32(), false},
                                     {"Min", arrow::float64(), true},
                                     {"Max", arrow::float64(), true},
                                     {"AggregationTemporality", arrow::int32(), true},
                                     {"IsMonotonic", arrow::boolean(), true},
                                 });
}

// ---- Logs --------------------------------------------------------------------------------------

// Two scopes, three records: every field set on the first, most left empty on the others.
logs::ResourceLogs SampleLogs() {
  logs::ResourceLogs r;
  r.set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  auto* resource_attrs = r.mutable_resource()->mutable_attributes();
  StrAttr(resource_attrs, "service.name", "checkout");
  Attr(resource_attrs, "host.cpus")->set_int_value(8);

  logs::ScopeLogs* scope_logs = r.add_scope_logs();
  scope_logs->set_schema_url("https://opentelemetry.io/schemas/1.24.0");
  scope_logs->mutable_scope()->set_name("io.openwit.payments");
  scope_logs->mutable_scope()->set_version("1.2.3");
  Attr(scope_logs->mutable_scope()->mutable_attributes(), "lib.debug")->set_bool_value(true);

  logs::LogRecord* full = scope_logs->add_log_records();
  full->set_time_unix_nano(kT0);
  full->set_observed_time_unix_nano(kT0 + 100);
  full->set_trace_id(Id(16, 1));
  full->set_span_id(Id(8, 101));
  full->set_flags(1);
  full->set_severity_text("ERROR");
  full->set_severity_number(logs::SEVERITY_NUMBER_ERROR);
  full->mutable_body()->set_string_value("payment failed: \"card declined\"");
  StrAttr(full->mutable_attributes(), "http.route", "/pay");
  Attr(full->mutable_attributes(), "retry")->set_int_value(3);
  full->set_event_name("payment.failed");

  logs::LogRecord* sparse = scope_logs->add_log_records();
  sparse->set_time_unix_nano(kT0 + 1);
  auto* body = sparse->mutable_body()->mutable_kvlist_value()->add_values();
  body->set_key("k");
  body->mutable_value()->set_int_value(1);

  logs::ScopeLogs* bare_scope = r.add_scope_logs();
  logs::LogRecord* third = bare_scope->add_log_records();
  third->set_time_unix_nano(kT0 + 2);
  third->mutable_body()->set_int_value(42);
  third->set_severity_number(logs::SEVERITY_NUMBER_INFO);
  return r;
}

TEST(ArrowConvertLogs, EveryColumn) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  EXPECT_EQ(converter.rows(), 3);
  const auto b = FinishOk(&converter);
  ASSERT_EQ(b->num_rows(), 3);

  EXPECT_EQ(Nanos(*b, "Timestamp", 0), kT0);
  EXPECT_EQ(Nanos(*b, "Timestamp", 1), kT0 + 1);
  EXPECT_EQ(Nanos(*b, "Timestamp", 2), kT0 + 2);
  EXPECT_EQ(Nanos(*b, "ObservedTimestamp", 0), kT0 + 100);
  EXPECT_TRUE(IsNull(*b, "ObservedTimestamp", 1));
  EXPECT_TRUE(IsNull(*b, "ObservedTimestamp", 2));

  EXPECT_EQ(IdAt(*b, "TraceId", 0), Id(16, 1));
  EXPECT_EQ(IdAt(*b, "SpanId", 0), Id(8, 101));
  for (int row : {1, 2}) {
    EXPECT_EQ(IdAt(*b, "TraceId", row), "null");
    EXPECT_EQ(IdAt(*b, "SpanId", row), "null");
  }
  const auto flags = Col<arrow::UInt32Array>(*b, "TraceFlags");
  EXPECT_EQ(flags->Value(0), 1u);
  EXPECT_EQ(flags->Value(1), 0u);

  EXPECT_EQ(Str(*b, "SeverityText", 0), "ERROR");
  EXPECT_EQ(Str(*b, "SeverityText", 1), "");
  const auto severity = Col<arrow::Int32Array>(*b, "SeverityNumber");
  EXPECT_EQ(severity->Value(0), 17);
  EXPECT_EQ(severity->Value(1), 0);
  EXPECT_EQ(severity->Value(2), 9);

  for (int row = 0; row < 3; ++row) {
    EXPECT_EQ(Str(*b, "ServiceName", row), "checkout");
    EXPECT_EQ(Str(*b, "ResourceSchemaUrl", row), "https://opentelemetry.io/schemas/1.26.0");
    EXPECT_THAT(MapAt(*b, "ResourceAttributes", row),
                ElementsAre(Entries::value_type{"service.name", "checkout"}, Entries::value_type{"host.cpus", "8"}));
  }

  EXPECT_EQ(Str(*b, "Body", 0), "payment failed: \"card declined\"");  // a string as itself
  EXPECT_EQ(Str(*b, "Body", 1), R"({"k":1})");
  EXPECT_EQ(Str(*b, "Body", 2), "42");

  for (int row : {0, 1}) {
    EXPECT_EQ(Str(*b, "ScopeSchemaUrl", row), "https://opentelemetry.io/schemas/1.24.0");
    EXPECT_EQ(Str(*b, "ScopeName", row), "io.openwit.payments");
    EXPECT_EQ(Str(*b, "ScopeVersion", row), "1.2.3");
    EXPECT_THAT(MapAt(*b, "ScopeAttributes", row), ElementsAre(Entries::value_type{"lib.debug", "true"}));
  }
  EXPECT_EQ(Str(*b, "ScopeSchemaUrl", 2), "");
  EXPECT_EQ(Str(*b, "ScopeName", 2), "");
  EXPECT_EQ(Str(*b, "ScopeVersion", 2), "");
  EXPECT_THAT(MapAt(*b, "ScopeAttributes", 2), IsEmpty());

  EXPECT_THAT(MapAt(*b, "LogAttributes", 0),
              ElementsAre(Entries::value_type{"http.route", "/pay"}, Entries::value_type{"retry", "3"}));
  EXPECT_THAT(MapAt(*b, "LogAttributes", 1), IsEmpty());
  EXPECT_FALSE(IsNull(*b, "LogAttributes", 1));  // empty, not null

  EXPECT_EQ(Str(*b, "EventName", 0), "payment.failed");
  EXPECT_EQ(Str(*b, "EventName", 1), "");
}

TEST(ArrowConvertLogs, TimestampFallsBackToObservedTime) {
  logs::ResourceLogs r;
  r.add_scope_logs()->add_log_records()->set_observed_time_unix_nano(kT0);
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(r).ok());
  const auto b = FinishOk(&converter);
  EXPECT_EQ(Nanos(*b, "Timestamp", 0), kT0);
  EXPECT_EQ(Nanos(*b, "ObservedTimestamp", 0), kT0);
}

// The text of a value as a LogAttributes entry and, alike, as a Body.
std::string TextOf(const common::AnyValue& value) {
  logs::ResourceLogs r;
  logs::LogRecord* rec = r.add_scope_logs()->add_log_records();
  *Attr(rec->mutable_attributes(), "v") = value;
  *rec->mutable_body() = value;
  ArrowConverter converter(Signal::kLogs);
  EXPECT_TRUE(converter.Append(r).ok());
  const auto b = FinishOk(&converter);
  const Entries entries = MapAt(*b, "LogAttributes", 0);
  EXPECT_EQ(entries.size(), 1u);
  EXPECT_EQ(Str(*b, "Body", 0), entries.at(0).second);
  return entries.at(0).second;
}

common::AnyValue Int(int64_t v) {
  common::AnyValue a;
  a.set_int_value(v);
  return a;
}
common::AnyValue Double(double v) {
  common::AnyValue a;
  a.set_double_value(v);
  return a;
}
common::AnyValue Bool(bool v) {
  common::AnyValue a;
  a.set_bool_value(v);
  return a;
}
common::AnyValue String(const std::string& v) {
  common::AnyValue a;
  a.set_string_value(v);
  return a;
}
common::AnyValue Bytes(const std::string& v) {
  common::AnyValue a;
  a.set_bytes_value(v);
  return a;
}
common::AnyValue Array(std::vector<common::AnyValue> items) {
  common::AnyValue a;
  auto* array = a.mutable_array_value();  // set even when empty
  for (auto& item : items) *array->add_values() = std::move(item);
  return a;
}
common::AnyValue KvList(std::vector<std::pair<std::string, common::AnyValue>> items) {
  common::AnyValue a;
  auto* list = a.mutable_kvlist_value();  // set even when empty
  for (auto& [key, value] : items) {
    auto* kv = list->add_values();
    kv->set_key(key);
    *kv->mutable_value() = std::move(value);
  }
  return a;
}

TEST(ArrowConvertLogs, StringValuesAsThemselves) {
  EXPECT_EQ(TextOf(String("plain")), "plain");
  EXPECT_EQ(TextOf(String("say \"hi\"\n")), "say \"hi\"\n");  // no JSON quoting at top level
  EXPECT_EQ(TextOf(String("")), "");
  EXPECT_EQ(TextOf(common::AnyValue()), "");  // unset
}

TEST(ArrowConvertLogs, IntAndBoolAsJsonText) {
  EXPECT_EQ(TextOf(Int(5)), "5");
  EXPECT_EQ(TextOf(Int(-42)), "-42");
  EXPECT_EQ(TextOf(Int(0)), "0");
  EXPECT_EQ(TextOf(Int(std::numeric_limits<int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(TextOf(Int(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(TextOf(Bool(true)), "true");
  EXPECT_EQ(TextOf(Bool(false)), "false");
}

TEST(ArrowConvertLogs, DoubleAsShortestJsonNumber) {
  EXPECT_EQ(TextOf(Double(1.5)), "1.5");
  EXPECT_EQ(TextOf(Double(3.0)), "3");
  EXPECT_EQ(TextOf(Double(0.1)), "0.1");
  EXPECT_EQ(TextOf(Double(-2.25)), "-2.25");
  EXPECT_EQ(TextOf(Double(0.0)), "0");
  EXPECT_EQ(TextOf(Double(123456789012.5)), "123456789012.5");
  EXPECT_EQ(TextOf(Double(1e20)), "100000000000000000000");
  EXPECT_EQ(TextOf(Double(1e21)), "1e+21");
  EXPECT_EQ(TextOf(Double(1e-7)), "1e-07");
  EXPECT_EQ(TextOf(Double(0.000001)), "0.000001");
  EXPECT_EQ(TextOf(Double(std::nan(""))), "NaN");
  EXPECT_EQ(TextOf(Double(std::numeric_limits<double>::infinity())), "Infinity");
  EXPECT_EQ(TextOf(Double(-std::numeric_limits<double>::infinity())), "-Infinity");
}

TEST(ArrowConvertLogs, BytesAsBase64) {
  EXPECT_EQ(TextOf(Bytes("hello")), "aGVsbG8=");
  EXPECT_EQ(TextOf(Bytes("abc")), "YWJj");
  EXPECT_EQ(TextOf(Bytes("ab")), "YWI=");
  EXPECT_EQ(TextOf(Bytes(std::string("\xff\x00", 2))), "/wA=");
  EXPECT_EQ(TextOf(Bytes("")), "");
}

TEST(ArrowConvertLogs, ArrayAndKvlistAsJson) {
  EXPECT_EQ(TextOf(Array({Int(1), String("a")})), R"([1,"a"])");
  EXPECT_EQ(TextOf(KvList({{"k", Int(1)}})), R"({"k":1})");
  EXPECT_EQ(TextOf(Array({})), "[]");
  EXPECT_EQ(TextOf(KvList({})), "{}");
  // Nested, with every kind inside and strings that need escaping.
  EXPECT_EQ(TextOf(KvList({
                {"a", Array({Bool(true), Double(1.5), common::AnyValue(), Array({Int(-1)})})},
                {"b", KvList({{"c", String("x\"y\\z\n\t\x01")}})},
                {"d", Bytes("hi")},
                {"quo\"te", Double(std::nan(""))},
            })),
            R"({"a":[true,1.5,null,[-1]],"b":{"c":"x\"y\\z\n\t\u0001"},"d":"aGk=",)"
            R"("quo\"te":"NaN"})");
}

TEST(ArrowConvertLogs, RepeatedKeyKeepsFirstValue) {
  logs::ResourceLogs r;
  auto* resource_attrs = r.mutable_resource()->mutable_attributes();
  StrAttr(resource_attrs, "service.name", "first");
  StrAttr(resource_attrs, "service.name", "second");
  logs::ScopeLogs* scope_logs = r.add_scope_logs();
  for (int i = 0; i < 2; ++i) {
    logs::LogRecord* rec = scope_logs->add_log_records();
    // Short list (pairwise check) on the first record, long list (sorted check) on the second.
    const int n = i == 0 ? 4 : 40;
    for (int k = 0; k < n; ++k) StrAttr(rec->mutable_attributes(), "k" + std::to_string(k), "v");
    StrAttr(rec->mutable_attributes(), "k1", "again");
  }
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(r).ok());
  const auto b = FinishOk(&converter);
  for (int row = 0; row < 2; ++row) {
    EXPECT_EQ(Str(*b, "ServiceName", row), "first");
    EXPECT_THAT(MapAt(*b, "ResourceAttributes", row), ElementsAre(Entries::value_type{"service.name", "first"}));
  }
  const Entries short_list = MapAt(*b, "LogAttributes", 0);
  EXPECT_EQ(short_list.size(), 4u);
  EXPECT_EQ(short_list.at(1), (Entries::value_type{"k1", "v"}));
  const Entries long_list = MapAt(*b, "LogAttributes", 1);
  EXPECT_EQ(long_list.size(), 40u);
  EXPECT_EQ(long_list.at(1), (Entries::value_type{"k1", "v"}));
}

TEST(ArrowConvertLogs, ServiceNameOfAnyType) {
  logs::ResourceLogs r;
  Attr(r.mutable_resource()->mutable_attributes(), "service.name")->set_int_value(7);
  r.add_scope_logs()->add_log_records();
  logs::ResourceLogs unnamed;
  unnamed.add_scope_logs()->add_log_records();
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(r).ok());
  ASSERT_TRUE(converter.Append(unnamed).ok());
  const auto b = FinishOk(&converter);
  EXPECT_EQ(Str(*b, "ServiceName", 0), "7");
  EXPECT_EQ(Str(*b, "ServiceName", 1), "");
}

TEST(ArrowConvertLogs, AllZeroIdsAreNull) {
  logs::ResourceLogs r;
  logs::LogRecord* rec = r.add_scope_logs()->add_log_records();
  rec->set_trace_id(std::string(16, '\0'));
  rec->set_span_id(std::string(8, '\0'));
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(r).ok());
  const auto b = FinishOk(&converter);
  EXPECT_EQ(IdAt(*b, "TraceId", 0), "null");
  EXPECT_EQ(IdAt(*b, "SpanId", 0), "null");
}

TEST(ArrowConvertLogs, WrongLengthIdNamesItsPath) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());  // resource_logs[0]: 3 rows

  logs::ResourceLogs bad;
  bad.add_scope_logs()->add_log_records();
  logs::ScopeLogs* scope_logs = bad.add_scope_logs();
  for (int i = 0; i < 4; ++i) scope_logs->add_log_records()->set_trace_id(Id(16, 1));
  scope_logs->mutable_log_records(3)->set_trace_id(Id(5, 1));
  const arrow::Status st = converter.Append(bad);  // resource_logs[1]
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message(), "resource_logs[1].scope_logs[1].log_records[3].trace_id: 5 bytes, expected 16");
  EXPECT_EQ(converter.rows(), 3) << "nothing of the bad resource is kept";

  scope_logs->mutable_log_records(3)->set_trace_id(Id(16, 1));
  scope_logs->mutable_log_records(2)->set_span_id(Id(9, 1));
  EXPECT_EQ(converter.Append(bad).message(),
            "resource_logs[2].scope_logs[1].log_records[2].span_id: 9 bytes, expected 8");

  // The converter is still usable and the good rows are all there.
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), 3);
  EXPECT_EQ(Str(*b, "ServiceName", 2), "checkout");

  // Finish() restarts the resource index.
  EXPECT_EQ(converter.Append(bad).message(),
            "resource_logs[0].scope_logs[1].log_records[2].span_id: 9 bytes, expected 8");
}

TEST(ArrowConvertLogs, EmptyResources) {
  ArrowConverter converter(Signal::kLogs);
  logs::ResourceLogs no_scopes;
  StrAttr(no_scopes.mutable_resource()->mutable_attributes(), "service.name", "idle");
  logs::ResourceLogs no_records;
  no_records.add_scope_logs()->mutable_scope()->set_name("quiet");
  ASSERT_TRUE(converter.Append(no_scopes).ok());
  ASSERT_TRUE(converter.Append(no_records).ok());
  ASSERT_TRUE(converter.Append(logs::ResourceLogs()).ok());
  EXPECT_EQ(converter.rows(), 0);
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), 0);
  EXPECT_EQ(b->num_columns(), SchemaFor(Signal::kLogs)->num_fields());
}

TEST(ArrowConvertLogs, FinishResetsForReuse) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  const auto first = FinishOk(&converter);
  EXPECT_EQ(first->num_rows(), 3);

  logs::ResourceLogs other;
  StrAttr(other.mutable_resource()->mutable_attributes(), "service.name", "ledger");
  other.add_scope_logs()->add_log_records()->mutable_body()->set_string_value("second batch");
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(converter.Append(other).ok());
    EXPECT_EQ(converter.rows(), 1);
    const auto b = FinishOk(&converter);
    ASSERT_EQ(b->num_rows(), 1);
    EXPECT_EQ(Str(*b, "ServiceName", 0), "ledger");
    EXPECT_EQ(Str(*b, "Body", 0), "second batch");
    EXPECT_THAT(MapAt(*b, "ResourceAttributes", 0), ElementsAre(Entries::value_type{"service.name", "ledger"}));
  }
  // The first batch is immutable: later rounds did not touch its buffers.
  EXPECT_EQ(Str(*first, "Body", 0), "payment failed: \"card declined\"");
  EXPECT_EQ(first->num_rows(), 3);
  // A Finish() with nothing appended is an empty batch.
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 0);
}

TEST(ArrowConvertLogs, ManyRowsAcrossResources) {
  ArrowConverter converter(Signal::kLogs);
  int64_t expected = 0;
  for (int r = 0; r < 50; ++r) {
    logs::ResourceLogs resource = SampleLogs();
    for (int i = 0; i < r; ++i) {
      resource.mutable_scope_logs(1)->add_log_records()->set_time_unix_nano(kT0 + i);
    }
    ASSERT_TRUE(converter.Append(resource).ok());
    expected += 3 + r;
  }
  EXPECT_EQ(converter.rows(), expected);
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), expected);
  EXPECT_EQ(Str(*b, "ServiceName", expected - 1), "checkout");
}

// The default pool, refusing any single allocation above a limit.
class CappedPool : public arrow::MemoryPool {
 public:
  int64_t max_allocation = std::numeric_limits<int64_t>::max();

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    if (size > max_allocation) return arrow::Status::OutOfMemory("capped at ", max_allocation);
    return base_->Allocate(size, alignment, out);
  }
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    if (new_size > max_allocation) return arrow::Status::OutOfMemory("capped at ", max_allocation);
    return base_->Reallocate(old_size, new_size, alignment, ptr);
  }
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override { base_->Free(buffer, size, alignment); }
  int64_t bytes_allocated() const override { return base_->bytes_allocated(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return "capped"; }

 private:
  arrow::MemoryPool* base_ = arrow::default_memory_pool();
};

TEST(ArrowConvertLogs, BuilderErrorSticksUntilFinish) {
  CappedPool pool;
  ArrowConverter converter(Signal::kLogs, &pool);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());

  // Rows are reserved fine, then the 1 MiB body cannot be stored: the failure is mid-row.
  pool.max_allocation = 256 << 10;
  logs::ResourceLogs big = SampleLogs();
  big.mutable_scope_logs(0)->mutable_log_records(1)->mutable_body()->set_string_value(std::string(1 << 20, 'x'));
  const arrow::Status st = converter.Append(big);
  EXPECT_TRUE(st.IsOutOfMemory()) << st;
  pool.max_allocation = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(converter.Append(SampleLogs()).IsOutOfMemory()) << "refused until Finish()";
  EXPECT_TRUE(converter.Finish().status().IsOutOfMemory()) << "the uneven rows are discarded";

  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  const auto b = FinishOk(&converter);
  ASSERT_EQ(b->num_rows(), 3);
  EXPECT_EQ(Str(*b, "Body", 0), "payment failed: \"card declined\"");
  EXPECT_EQ(Str(*b, "EventName", 0), "payment.failed");
}

TEST(ArrowConvertLogs, OtherSignalsRefused) {
  ArrowConverter converter(Signal::kLogs);
  trace::ResourceSpans spans;
  spans.add_scope_spans()->add_spans();
  const arrow::Status st = converter.Append(spans);
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message(), "an ArrowConverter for logs cannot append traces");
  EXPECT_TRUE(converter.Append(metrics::ResourceMetrics()).IsInvalid());
  EXPECT_EQ(converter.rows(), 0);
}

// ---- Traces ------------------------------------------------------------------------------------

trace::ResourceSpans SampleSpans() {
  trace::ResourceSpans r;
  r.set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  StrAttr(r.mutable_resource()->mutable_attributes(), "service.name", "frontend");
  trace::ScopeSpans* scope_spans = r.add_scope_spans();
  scope_spans->set_schema_url("scope-schema");
  scope_spans->mutable_scope()->set_name("io.openwit.http");
  scope_spans->mutable_scope()->set_version("0.9");
  Attr(scope_spans->mutable_scope()->mutable_attributes(), "sampled.ratio")->set_double_value(0.25);

  trace::Span* server = scope_spans->add_spans();
  server->set_trace_id(Id(16, 1));
  server->set_span_id(Id(8, 101));
  server->set_parent_span_id(Id(8, 201));
  server->set_trace_state("vendor=a");
  server->set_name("GET /cart");
  server->set_kind(trace::Span::SPAN_KIND_SERVER);
  server->set_start_time_unix_nano(kT0);
  server->set_end_time_unix_nano(kT0 + 1500);
  StrAttr(server->mutable_attributes(), "http.method", "GET");
  Attr(server->mutable_attributes(), "http.status_code")->set_int_value(500);
  server->mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);
  server->mutable_status()->set_message("upstream timeout");
  trace::Span::Event* retry = server->add_events();
  retry->set_time_unix_nano(kT0 + 10);
  retry->set_name("retry");
  Attr(retry->mutable_attributes(), "attempt")->set_int_value(2);
  trace::Span::Event* exception = server->add_events();
  exception->set_time_unix_nano(kT0 + 20);
  exception->set_name("exception");
  StrAttr(exception->mutable_attributes(), "exception.type", "Timeout");
  trace::Span::Link* link = server->add_links();
  link->set_trace_id(Id(16, 51));
  link->set_span_id(Id(8, 151));
  link->set_trace_state("vendor=b");
  Attr(link->mutable_attributes(), "link.kind")->set_string_value("follows");
  server->add_links();  // a link with no ids: null ids, empty attributes

  trace::Span* internal = scope_spans->add_spans();
  internal->set_trace_id(Id(16, 1));
  internal->set_span_id(Id(8, 102));
  internal->set_name("render");
  internal->set_kind(trace::Span::SPAN_KIND_INTERNAL);
  internal->set_start_time_unix_nano(kT0 + 5);
  internal->set_end_time_unix_nano(kT0 + 5);
  return r;
}

TEST(ArrowConvertTraces, EveryColumn) {
  ArrowConverter converter(Signal::kTraces);
  ASSERT_TRUE(converter.Append(SampleSpans()).ok());
  const auto b = FinishOk(&converter);
  ASSERT_EQ(b->num_rows(), 2);

  EXPECT_EQ(Nanos(*b, "Timestamp", 0), kT0);
  EXPECT_EQ(Nanos(*b, "Timestamp", 1), kT0 + 5);
  EXPECT_EQ(IdAt(*b, "TraceId", 0), Id(16, 1));
  EXPECT_EQ(IdAt(*b, "SpanId", 0), Id(8, 101));
  EXPECT_EQ(IdAt(*b, "SpanId", 1), Id(8, 102));
  EXPECT_EQ(IdAt(*b, "ParentSpanId", 0), Id(8, 201));
  EXPECT_EQ(IdAt(*b, "ParentSpanId", 1), "null");  // a root span
  EXPECT_EQ(Str(*b, "TraceState", 0), "vendor=a");
  EXPECT_EQ(Str(*b, "TraceState", 1), "");
  EXPECT_EQ(Str(*b, "SpanName", 0), "GET /cart");
  EXPECT_EQ(Str(*b, "SpanKind", 0), "Server");
  EXPECT_EQ(Str(*b, "SpanKind", 1), "Internal");
  for (int row = 0; row < 2; ++row) {
    EXPECT_EQ(Str(*b, "ServiceName", row), "frontend");
    EXPECT_EQ(Str(*b, "ResourceSchemaUrl", row), "https://opentelemetry.io/schemas/1.26.0");
    EXPECT_THAT(MapAt(*b, "ResourceAttributes", row), ElementsAre(Entries::value_type{"service.name", "frontend"}));
    EXPECT_EQ(Str(*b, "ScopeSchemaUrl", row), "scope-schema");
    EXPECT_EQ(Str(*b, "ScopeName", row), "io.openwit.http");
    EXPECT_EQ(Str(*b, "ScopeVersion", row), "0.9");
    EXPECT_THAT(MapAt(*b, "ScopeAttributes", row), ElementsAre(Entries::value_type{"sampled.ratio", "0.25"}));
  }
  EXPECT_THAT(MapAt(*b, "SpanAttributes", 0),
              ElementsAre(Entries::value_type{"http.method", "GET"}, Entries::value_type{"http.status_code", "500"}));
  EXPECT_THAT(MapAt(*b, "SpanAttributes", 1), IsEmpty());
  const auto duration = Col<arrow::Int64Array>(*b, "Duration");
  EXPECT_EQ(duration->Value(0), 1500);
  EXPECT_EQ(duration->Value(1), 0);
  EXPECT_EQ(Str(*b, "StatusCode", 0), "Error");
  EXPECT_EQ(Str(*b, "StatusCode", 1), "Unset");
  EXPECT_EQ(Str(*b, "StatusMessage", 0), "upstream timeout");
  EXPECT_EQ(Str(*b, "StatusMessage", 1), "");

  const ListCell events = ListAt(*b, "Events", 0);
  ASSERT_EQ(events.size, 2);
  EXPECT_EQ(events.Nanos("Timestamp", 0), kT0 + 10);
  EXPECT_EQ(events.Str("Name", 0), "retry");
  EXPECT_THAT(events.Map("Attributes", 0), ElementsAre(Entries::value_type{"attempt", "2"}));
  EXPECT_EQ(events.Nanos("Timestamp", 1), kT0 + 20);
  EXPECT_EQ(events.Str("Name", 1), "exception");
  EXPECT_THAT(events.Map("Attributes", 1), ElementsAre(Entries::value_type{"exception.type", "Timeout"}));

  const ListCell links = ListAt(*b, "Links", 0);
  ASSERT_EQ(links.size, 2);
  EXPECT_EQ(links.Id("TraceId", 0), Id(16, 51));
  EXPECT_EQ(links.Id("SpanId", 0), Id(8, 151));
  EXPECT_EQ(links.Str("TraceState", 0), "vendor=b");
  EXPECT_THAT(links.Map("Attributes", 0), ElementsAre(Entries::value_type{"link.kind", "follows"}));
  EXPECT_EQ(links.Id("TraceId", 1), "null");
  EXPECT_EQ(links.Id("SpanId", 1), "null");
  EXPECT_THAT(links.Map("Attributes", 1), IsEmpty());

  // No events or links: empty lists, not nulls.
  EXPECT_FALSE(IsNull(*b, "Events", 1));
  EXPECT_FALSE(IsNull(*b, "Links", 1));
  EXPECT_EQ(ListAt(*b, "Events", 1).size, 0);
  EXPECT_EQ(ListAt(*b, "Links", 1).size, 0);
}

TEST(ArrowConvertTraces, KindAndStatusTexts) {
  trace::ResourceSpans r;
  trace::ScopeSpans* scope_spans = r.add_scope_spans();
  for (int kind = 0; kind <= 5; ++kind) {
    trace::Span* span = scope_spans->add_spans();
    span->set_kind(static_cast<trace::Span::SpanKind>(kind));
    span->mutable_status()->set_code(static_cast<trace::Status::StatusCode>(kind % 3));
  }
  ArrowConverter converter(Signal::kTraces);
  ASSERT_TRUE(converter.Append(r).ok());
  const auto b = FinishOk(&converter);
  const std::vector<std::string> kinds = {"Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"};
  const std::vector<std::string> codes = {"Unset", "Ok", "Error"};
  for (int row = 0; row <= 5; ++row) {
    EXPECT_EQ(Str(*b, "SpanKind", row), kinds[row]);
    EXPECT_EQ(Str(*b, "StatusCode", row), codes[row % 3]);
  }
}

TEST(ArrowConvertTraces, WrongLengthIdsNameTheirPaths) {
  ArrowConverter converter(Signal::kTraces);
  trace::ResourceSpans r = SampleSpans();
  r.mutable_scope_spans(0)->mutable_spans(1)->set_parent_span_id(Id(4, 1));
  EXPECT_EQ(converter.Append(r).message(),
            "resource_spans[0].scope_spans[0].spans[1].parent_span_id: 4 bytes, expected 8");

  r = SampleSpans();
  r.mutable_scope_spans(0)->mutable_spans(0)->mutable_links(1)->set_span_id(Id(3, 1));
  EXPECT_EQ(converter.Append(r).message(),
            "resource_spans[1].scope_spans[0].spans[0].links[1].span_id: 3 bytes, expected 8");

  r = SampleSpans();
  r.mutable_scope_spans(0)->mutable_spans(0)->mutable_links(0)->set_trace_id(Id(17, 1));
  EXPECT_EQ(converter.Append(r).message(),
            "resource_spans[2].scope_spans[0].spans[0].links[0].trace_id: 17 bytes, expected 16");
  EXPECT_EQ(converter.rows(), 0);
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 0);
}

TEST(ArrowConvertTraces, FinishResetsForReuse) {
  ArrowConverter converter(Signal::kTraces);
  ASSERT_TRUE(converter.Append(SampleSpans()).ok());
  ASSERT_TRUE(converter.Append(SampleSpans()).ok());
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 4);
  ASSERT_TRUE(converter.Append(SampleSpans()).ok());
  const auto b = FinishOk(&converter);
  ASSERT_EQ(b->num_rows(), 2);
  EXPECT_EQ(ListAt(*b, "Events", 0).size, 2);
  EXPECT_EQ(ListAt(*b, "Events", 0).first, 0);
  EXPECT_EQ(ListAt(*b, "Links", 0).Str("TraceState", 0), "vendor=b");
}

// ---- Metrics -----------------------------------------------------------------------------------

metrics::Metric* AddMetric(metrics::ScopeMetrics* scope, const std::string& name) {
  metrics::Metric* m = scope->add_metrics();
  m->set_name(name);
  m->set_description(name + " description");
  m->set_unit("1");
  return m;
}

// One metric of each kind: gauge (2 points), sum, histogram, exponential histogram, summary.
metrics::ResourceMetrics SampleMetrics() {
  metrics::ResourceMetrics r;
  r.set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  StrAttr(r.mutable_resource()->mutable_attributes(), "service.name", "billing");
  metrics::ScopeMetrics* scope = r.add_scope_metrics();
  scope->set_schema_url("scope-schema");
  scope->mutable_scope()->set_name("io.openwit.meter");
  scope->mutable_scope()->set_version("2.0");
  scope->mutable_scope()->set_dropped_attributes_count(3);
  StrAttr(scope->mutable_scope()->mutable_attributes(), "meter.kind", "sdk");

  metrics::Gauge* gauge = AddMetric(scope, "queue.depth")->mutable_gauge();
  metrics::NumberDataPoint* g0 = gauge->add_data_points();
  g0->set_time_unix_nano(kT0);
  g0->set_as_int(7);
  StrAttr(g0->mutable_attributes(), "queue", "a");
  metrics::NumberDataPoint* g1 = gauge->add_data_points();
  g1->set_start_time_unix_nano(kT0 - 1000);
  g1->set_time_unix_nano(kT0 + 1);
  g1->set_as_double(2.5);
  g1->set_flags(1);
  metrics::Exemplar* ex = g1->add_exemplars();
  ex->set_time_unix_nano(kT0 - 5);
  ex->set_as_int(3);
  ex->set_trace_id(Id(16, 1));
  ex->set_span_id(Id(8, 101));
  StrAttr(ex->mutable_filtered_attributes(), "user", "u1");

  metrics::Sum* sum = AddMetric(scope, "requests")->mutable_sum();
  sum->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  sum->set_is_monotonic(true);
  metrics::NumberDataPoint* s0 = sum->add_data_points();
  s0->set_start_time_unix_nano(kT0 - 60);
  s0->set_time_unix_nano(kT0);
  s0->set_as_double(1234.5);

  metrics::Histogram* histogram = AddMetric(scope, "latency")->mutable_histogram();
  histogram->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_DELTA);
  metrics::HistogramDataPoint* h0 = histogram->add_data_points();
  h0->set_time_unix_nano(kT0);
  h0->set_count(6);
  h0->set_sum(42.0);
  for (uint64_t c : {1, 2, 3}) h0->add_bucket_counts(c);
  for (double bound : {10.0, 100.0}) h0->add_explicit_bounds(bound);
  h0->set_min(0.5);
  h0->set_max(250.0);

  metrics::ExponentialHistogram* exp = AddMetric(scope, "size")->mutable_exponential_histogram();
  exp->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  metrics::ExponentialHistogramDataPoint* e0 = exp->add_data_points();
  e0->set_time_unix_nano(kT0);
  e0->set_count(9);  // no sum, min or max: null
  e0->set_scale(3);
  e0->set_zero_count(1);
  e0->set_zero_threshold(0.001);
  e0->mutable_positive()->set_offset(-2);
  for (uint64_t c : {4, 4}) e0->mutable_positive()->add_bucket_counts(c);
  e0->mutable_negative()->set_offset(5);

  metrics::Summary* summary = AddMetric(scope, "rpc.duration")->mutable_summary();
  metrics::SummaryDataPoint* q0 = summary->add_data_points();
  q0->set_time_unix_nano(kT0);
  q0->set_count(100);
  q0->set_sum(12.5);
  for (auto [quantile, value] : {std::pair{0.5, 0.1}, std::pair{0.99, 0.9}}) {
    auto* q = q0->add_quantile_values();
    q->set_quantile(quantile);
    q->set_value(value);
  }

  AddMetric(scope, "no.data");  // a metric without data: no row
  return r;
}

// The columns that only some kinds have: every nullable one but StartTimeUnix (null when
// unknown); kFilledByKind says which each kind fills, the others must be null.
std::vector<std::string> KindColumns() {
  std::vector<std::string> names;
  for (const auto& field : SchemaFor(Signal::kMetrics)->fields()) {
    if (field->nullable() && field->name() != "StartTimeUnix") names.push_back(field->name());
  }
  return names;
}
const std::map<std::string, std::set<std::string>> kFilledByKind = {
    {"Gauge", {"Value", "Exemplars"}},
    {"Sum", {"Value", "Exemplars", "AggregationTemporality", "IsMonotonic"}},
    {"Histogram",
     {"Count", "Sum", "BucketCounts", "ExplicitBounds", "Exemplars", "Min", "Max", "AggregationTemporality"}},
    {"ExponentialHistogram",
     {"Count", "Scale", "ZeroCount", "ZeroThreshold", "PositiveOffset", "PositiveBucketCounts", "NegativeOffset",
      "NegativeBucketCounts", "Exemplars", "AggregationTemporality"}},
    {"Summary", {"Count", "Sum", "ValueAtQuantiles"}},
};

class ArrowConvertMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    ArrowConverter converter(Signal::kMetrics);
    ASSERT_TRUE(converter.Append(SampleMetrics()).ok());
    EXPECT_EQ(converter.rows(), 6);
    b_ = FinishOk(&converter);
    ASSERT_EQ(b_->num_rows(), 6);
  }
  std::shared_ptr<arrow::RecordBatch> b_;
};

TEST_F(ArrowConvertMetrics, OneRowPerDataPointWithResourceAndScope) {
  const std::vector<std::string> types = {"Gauge", "Gauge", "Sum", "Histogram", "ExponentialHistogram", "Summary"};
  const std::vector<std::string> names = {"queue.depth", "queue.depth", "requests", "latency", "size", "rpc.duration"};
  for (int row = 0; row < 6; ++row) {
    SCOPED_TRACE(row);
    EXPECT_EQ(Str(*b_, "MetricType", row), types[row]);
    EXPECT_EQ(Str(*b_, "MetricName", row), names[row]);
    EXPECT_EQ(Str(*b_, "MetricDescription", row), names[row] + " description");
    EXPECT_EQ(Str(*b_, "MetricUnit", row), "1");
    EXPECT_THAT(MapAt(*b_, "ResourceAttributes", row), ElementsAre(Entries::value_type{"service.name", "billing"}));
    EXPECT_EQ(Str(*b_, "ResourceSchemaUrl", row), "https://opentelemetry.io/schemas/1.26.0");
    EXPECT_EQ(Str(*b_, "ScopeName", row), "io.openwit.meter");
    EXPECT_EQ(Str(*b_, "ScopeVersion", row), "2.0");
    EXPECT_THAT(MapAt(*b_, "ScopeAttributes", row), ElementsAre(Entries::value_type{"meter.kind", "sdk"}));
    EXPECT_EQ(Col<arrow::UInt32Array>(*b_, "ScopeDroppedAttrCount")->Value(row), 3u);
    EXPECT_EQ(Str(*b_, "ScopeSchemaUrl", row), "scope-schema");
    EXPECT_EQ(Str(*b_, "ServiceName", row), "billing");
    EXPECT_EQ(Nanos(*b_, "TimeUnix", row), row == 1 ? kT0 + 1 : kT0);
  }
  EXPECT_THAT(MapAt(*b_, "Attributes", 0), ElementsAre(Entries::value_type{"queue", "a"}));
  EXPECT_THAT(MapAt(*b_, "Attributes", 1), IsEmpty());
  EXPECT_TRUE(IsNull(*b_, "StartTimeUnix", 0));  // 0: unknown
  EXPECT_EQ(Nanos(*b_, "StartTimeUnix", 1), kT0 - 1000);
  EXPECT_EQ(Nanos(*b_, "StartTimeUnix", 2), kT0 - 60);
  const auto flags = Col<arrow::UInt32Array>(*b_, "Flags");
  EXPECT_EQ(flags->Value(0), 0u);
  EXPECT_EQ(flags->Value(1), 1u);
}

TEST_F(ArrowConvertMetrics, NullWhereAColumnDoesNotApply) {
  ASSERT_EQ(KindColumns().size(), 18u);
  for (int row = 0; row < 6; ++row) {
    const std::string type = Str(*b_, "MetricType", row);
    const std::set<std::string>& filled = kFilledByKind.at(type);
    for (const std::string& column : KindColumns()) {
      EXPECT_EQ(IsNull(*b_, column, row), filled.count(column) == 0) << type << " row " << row << " column " << column;
    }
  }
}

TEST_F(ArrowConvertMetrics, Gauge) {
  const auto value = Col<arrow::DoubleArray>(*b_, "Value");
  EXPECT_EQ(value->Value(0), 7.0);  // as_int
  EXPECT_EQ(value->Value(1), 2.5);
  EXPECT_EQ(ListAt(*b_, "Exemplars", 0).size, 0);
  const ListCell ex = ListAt(*b_, "Exemplars", 1);
  ASSERT_EQ(ex.size, 1);
  EXPECT_THAT(ex.Map("FilteredAttributes", 0), ElementsAre(Entries::value_type{"user", "u1"}));
  EXPECT_EQ(ex.Nanos("TimeUnix", 0), kT0 - 5);
  EXPECT_EQ(ex.Double("Value", 0), 3.0);
  EXPECT_EQ(ex.Id("SpanId", 0), Id(8, 101));
  EXPECT_EQ(ex.Id("TraceId", 0), Id(16, 1));
}

TEST_F(ArrowConvertMetrics, Sum) {
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "Value")->Value(2), 1234.5);
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "AggregationTemporality")->Value(2), 2);  // cumulative
  EXPECT_TRUE(Col<arrow::BooleanArray>(*b_, "IsMonotonic")->Value(2));
}

TEST_F(ArrowConvertMetrics, Histogram) {
  EXPECT_EQ(Col<arrow::UInt64Array>(*b_, "Count")->Value(3), 6u);
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "Sum")->Value(3), 42.0);
  EXPECT_THAT(NumbersAt<arrow::UInt64Type>(*b_, "BucketCounts", 3), ElementsAre(1, 2, 3));
  EXPECT_THAT(NumbersAt<arrow::DoubleType>(*b_, "ExplicitBounds", 3), ElementsAre(10.0, 100.0));
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "Min")->Value(3), 0.5);
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "Max")->Value(3), 250.0);
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "AggregationTemporality")->Value(3), 1);  // delta
  EXPECT_EQ(ListAt(*b_, "Exemplars", 3).size, 0);
}

TEST_F(ArrowConvertMetrics, ExponentialHistogram) {
  EXPECT_EQ(Col<arrow::UInt64Array>(*b_, "Count")->Value(4), 9u);
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "Scale")->Value(4), 3);
  EXPECT_EQ(Col<arrow::UInt64Array>(*b_, "ZeroCount")->Value(4), 1u);
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "ZeroThreshold")->Value(4), 0.001);
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "PositiveOffset")->Value(4), -2);
  EXPECT_THAT(NumbersAt<arrow::UInt64Type>(*b_, "PositiveBucketCounts", 4), ElementsAre(4, 4));
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "NegativeOffset")->Value(4), 5);
  EXPECT_THAT(NumbersAt<arrow::UInt64Type>(*b_, "NegativeBucketCounts", 4), IsEmpty());
  EXPECT_EQ(Col<arrow::Int32Array>(*b_, "AggregationTemporality")->Value(4), 2);
  // Sum, Min and Max are optional in OTLP: absent here, so null (checked by the test above).
}

TEST_F(ArrowConvertMetrics, Summary) {
  EXPECT_EQ(Col<arrow::UInt64Array>(*b_, "Count")->Value(5), 100u);
  EXPECT_EQ(Col<arrow::DoubleArray>(*b_, "Sum")->Value(5), 12.5);
  const ListCell q = ListAt(*b_, "ValueAtQuantiles", 5);
  ASSERT_EQ(q.size, 2);
  EXPECT_EQ(q.Double("Quantile", 0), 0.5);
  EXPECT_EQ(q.Double("Value", 0), 0.1);
  EXPECT_EQ(q.Double("Quantile", 1), 0.99);
  EXPECT_EQ(q.Double("Value", 1), 0.9);
}

TEST(ArrowConvertMetricsIds, WrongLengthExemplarIdNamesItsPath) {
  metrics::ResourceMetrics r = SampleMetrics();
  r.mutable_scope_metrics(0)
      ->mutable_metrics(0)
      ->mutable_gauge()
      ->mutable_data_points(1)
      ->mutable_exemplars(0)
      ->set_span_id(Id(7, 1));
  ArrowConverter converter(Signal::kMetrics);
  EXPECT_EQ(converter.Append(r).message(),
            "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[1].exemplars[0]."
            "span_id: 7 bytes, expected 8");

  r = SampleMetrics();
  r.mutable_scope_metrics(0)
      ->mutable_metrics(2)
      ->mutable_histogram()
      ->mutable_data_points(0)
      ->add_exemplars()
      ->set_trace_id(Id(8, 1));
  EXPECT_EQ(converter.Append(r).message(),
            "resource_metrics[1].scope_metrics[0].metrics[2].histogram.data_points[0].exemplars[0]."
            "trace_id: 8 bytes, expected 16");
  EXPECT_EQ(converter.rows(), 0);
}

TEST(ArrowConvertMetricsReuse, EmptyResourceAndFinishResets) {
  ArrowConverter converter(Signal::kMetrics);
  ASSERT_TRUE(converter.Append(metrics::ResourceMetrics()).ok());
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 0);
  ASSERT_TRUE(converter.Append(SampleMetrics()).ok());
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 6);
  ASSERT_TRUE(converter.Append(SampleMetrics()).ok());
  ASSERT_TRUE(converter.Append(SampleMetrics()).ok());
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), 12);
  EXPECT_EQ(Str(*b, "MetricType", 11), "Summary");
  EXPECT_EQ(ListAt(*b, "ValueAtQuantiles", 11).size, 2);
}

// ---- Parquet -----------------------------------------------------------------------------------

class ArrowConvertParquet : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openwit-arrow-convert-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the batch to a Parquet file and reads it back as a one-batch table.
  std::shared_ptr<arrow::Table> RoundTrip(const std::shared_ptr<arrow::RecordBatch>& batch) {
    const std::string path = (dir_ / "batch.parquet").string();
    auto table = arrow::Table::FromRecordBatches({batch}).ValueOrDie();
    auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
    EXPECT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out).ok());
    EXPECT_TRUE(out->Close().ok());
    auto in = arrow::io::ReadableFile::Open(path).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool()).ValueOrDie();
    auto read = reader->ReadTable().ValueOrDie();
    return read->CombineChunks().ValueOrDie();
  }

  fs::path dir_;
};

TEST_F(ArrowConvertParquet, LogsSurviveWithMapColumns) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  const auto batch = FinishOk(&converter);
  const auto table = RoundTrip(batch);
  ASSERT_EQ(table->num_rows(), 3);
  EXPECT_TRUE(table->schema()->Equals(*batch->schema())) << table->schema()->ToString();
  const auto read = arrow::TableBatchReader(*table).Next().ValueOrDie();
  ASSERT_NE(read, nullptr);
  EXPECT_TRUE(read->Equals(*batch));

  const auto attributes = read->GetColumnByName("LogAttributes");
  ASSERT_NE(attributes, nullptr);
  EXPECT_EQ(attributes->type_id(), arrow::Type::MAP);
  EXPECT_THAT(MapAt(*read, "LogAttributes", 0),
              ElementsAre(Entries::value_type{"http.route", "/pay"}, Entries::value_type{"retry", "3"}));
  EXPECT_THAT(MapAt(*read, "ResourceAttributes", 2),
              ElementsAre(Entries::value_type{"service.name", "checkout"}, Entries::value_type{"host.cpus", "8"}));
  EXPECT_EQ(Nanos(*read, "Timestamp", 0), kT0);
  EXPECT_EQ(IdAt(*read, "TraceId", 0), Id(16, 1));
  EXPECT_EQ(IdAt(*read, "TraceId", 1), "null");
}

TEST_F(ArrowConvertParquet, TracesAndMetricsSurviveWithListColumns) {
  ArrowConverter spans(Signal::kTraces);
  ASSERT_TRUE(spans.Append(SampleSpans()).ok());
  const auto span_batch = FinishOk(&spans);
  const auto span_read = arrow::TableBatchReader(*RoundTrip(span_batch)).Next().ValueOrDie();
  ASSERT_NE(span_read, nullptr);
  EXPECT_TRUE(span_read->Equals(*span_batch));
  EXPECT_THAT(ListAt(*span_read, "Events", 0).Map("Attributes", 0), ElementsAre(Entries::value_type{"attempt", "2"}));

  ArrowConverter points(Signal::kMetrics);
  ASSERT_TRUE(points.Append(SampleMetrics()).ok());
  const auto metric_batch = FinishOk(&points);
  const auto metric_read = arrow::TableBatchReader(*RoundTrip(metric_batch)).Next().ValueOrDie();
  ASSERT_NE(metric_read, nullptr);
  EXPECT_TRUE(metric_read->Equals(*metric_batch));
}

}  // namespace
}  // namespace openwit::ingest
