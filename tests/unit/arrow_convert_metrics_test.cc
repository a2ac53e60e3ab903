// OTLP metrics -> Arrow (ingest/arrow_convert_metrics.cc): one row per data point of every kind,
// null where a column does not apply to the kind, exemplar id checks, reuse after Finish().

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "arrow_convert_test_util.h"

namespace openwit::ingest::arrow_test {
namespace {

metrics::Metric* AddMetric(metrics::ScopeMetrics* scope, const std::string& name) {
  metrics::Metric* m = scope->add_metrics();
  m->set_name(name);
  m->set_description(name + " description");
  m->set_unit("1");
  return m;
}

}  // namespace

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

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

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

// n copies of a value: a column that is the same on every row.
std::vector<std::string> Repeat(const std::string& value, int n = 6) { return std::vector<std::string>(n, value); }

TEST_F(ArrowConvertMetrics, OneRowPerDataPointWithResourceAndScope) {
  const std::vector<std::string> names = {"queue.depth", "queue.depth", "requests", "latency", "size", "rpc.duration"};
  std::vector<std::string> descriptions;
  for (const auto& name : names) descriptions.push_back(name + " description");
  ExpectColumns(*b_, {
                         {"MetricType", {"Gauge", "Gauge", "Sum", "Histogram", "ExponentialHistogram", "Summary"}},
                         {"MetricName", names},
                         {"MetricDescription", descriptions},
                         {"MetricUnit", Repeat("1")},
                         {"ResourceSchemaUrl", Repeat("https://opentelemetry.io/schemas/1.26.0")},
                         {"ScopeName", Repeat("io.openwit.meter")},
                         {"ScopeVersion", Repeat("2.0")},
                         {"ScopeDroppedAttrCount", Repeat("3")},
                         {"ScopeSchemaUrl", Repeat("scope-schema")},
                         {"ServiceName", Repeat("billing")},
                         {"TimeUnix", {N(kT0), N(kT0 + 1), N(kT0), N(kT0), N(kT0), N(kT0)}},
                         // 0 is unknown: null.
                         {"StartTimeUnix", {"null", N(kT0 - 1000), N(kT0 - 60)}},
                         {"Flags", {"0", "1"}},
                     });
  ExpectMaps(*b_, "ResourceAttributes", std::vector<Entries>(6, {{"service.name", "billing"}}));
  ExpectMaps(*b_, "ScopeAttributes", std::vector<Entries>(6, {{"meter.kind", "sdk"}}));
  ExpectMaps(*b_, "Attributes", {{{"queue", "a"}}, {}});
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
  EXPECT_THAT(ex.Map("FilteredAttributes", 0), ElementsAre(Entry{"user", "u1"}));
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

}  // namespace
}  // namespace openwit::ingest::arrow_test
