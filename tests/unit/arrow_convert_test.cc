// OTLP -> Arrow conversion (ingest/arrow_convert.h), what the signals share: the schemas column by
// column, the JSON text of non-string values, and a Parquet round trip of each signal's batch.
// Each signal's columns are tested in arrow_convert_{logs,traces,metrics}_test.cc.

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "arrow_convert_test_util.h"

namespace openwit::ingest::arrow_test {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

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

// ---- Text of values ------------------------------------------------------------------------

// The text of a value as a LogAttributes entry and, alike, as a Body.
std::string TextOf(const common::AnyValue& value) {
  logs::ResourceLogs r;
  logs::LogRecord* rec = r.add_scope_logs()->add_log_records();
  *Attr(rec->mutable_attributes(), "v") = value;
  *rec->mutable_body() = value;
  const auto b = Convert(Signal::kLogs, r);
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

TEST(ArrowConvertValues, StringValuesAsThemselves) {
  EXPECT_EQ(TextOf(String("plain")), "plain");
  EXPECT_EQ(TextOf(String("say \"hi\"\n")), "say \"hi\"\n");  // no JSON quoting at top level
  EXPECT_EQ(TextOf(String("")), "");
  EXPECT_EQ(TextOf(common::AnyValue()), "");  // unset
}

TEST(ArrowConvertValues, IntAndBoolAsJsonText) {
  EXPECT_EQ(TextOf(Int(5)), "5");
  EXPECT_EQ(TextOf(Int(-42)), "-42");
  EXPECT_EQ(TextOf(Int(0)), "0");
  EXPECT_EQ(TextOf(Int(std::numeric_limits<int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(TextOf(Int(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(TextOf(Bool(true)), "true");
  EXPECT_EQ(TextOf(Bool(false)), "false");
}

TEST(ArrowConvertValues, DoubleAsShortestJsonNumber) {
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

TEST(ArrowConvertValues, BytesAsBase64) {
  EXPECT_EQ(TextOf(Bytes("hello")), "aGVsbG8=");
  EXPECT_EQ(TextOf(Bytes("abc")), "YWJj");
  EXPECT_EQ(TextOf(Bytes("ab")), "YWI=");
  EXPECT_EQ(TextOf(Bytes(std::string("\xff\x00", 2))), "/wA=");
  EXPECT_EQ(TextOf(Bytes("")), "");
}

TEST(ArrowConvertValues, ArrayAndKvlistAsJson) {
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
  EXPECT_THAT(MapAt(*read, "LogAttributes", 0), ElementsAre(Entry{"http.route", "/pay"}, Entry{"retry", "3"}));
  EXPECT_THAT(MapAt(*read, "ResourceAttributes", 2),
              ElementsAre(Entry{"service.name", "checkout"}, Entry{"host.cpus", "8"}));
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
  EXPECT_THAT(ListAt(*span_read, "Events", 0).Map("Attributes", 0), ElementsAre(Entry{"attempt", "2"}));

  ArrowConverter points(Signal::kMetrics);
  ASSERT_TRUE(points.Append(SampleMetrics()).ok());
  const auto metric_batch = FinishOk(&points);
  const auto metric_read = arrow::TableBatchReader(*RoundTrip(metric_batch)).Next().ValueOrDie();
  ASSERT_NE(metric_read, nullptr);
  EXPECT_TRUE(metric_read->Equals(*metric_batch));
}

}  // namespace
}  // namespace openwit::ingest::arrow_test
