// Metrics: one table for the five kinds of the exporter's otel_metrics_* tables, one row per data
// point; a column that does not apply to the row's kind is null (arrow_convert.h).

#include <optional>
#include <string_view>
#include <type_traits>

#include "ingest/arrow_convert.h"
#include "ingest/arrow_convert_columns.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "otlp/otlp_records.h"

namespace openwit::ingest {

namespace metrics = opentelemetry::proto::metrics::v1;

namespace internal {

namespace {

// Exemplars.{FilteredAttributes, TimeUnix, Value, SpanId, TraceId} of the otel_metrics_* tables.
std::shared_ptr<arrow::DataType> ExemplarType() {
  return arrow::struct_({arrow::field("FilteredAttributes", AttributesType()), arrow::field("TimeUnix", TimeType()),
                         arrow::field("Value", arrow::float64()), arrow::field("SpanId", SpanIdType()),
                         arrow::field("TraceId", TraceIdType())});
}

// ValueAtQuantiles.{Quantile, Value} of otel_metrics_summary.
std::shared_ptr<arrow::DataType> QuantileType() {
  return arrow::struct_({arrow::field("Quantile", arrow::float64()), arrow::field("Value", arrow::float64())});
}

}  // namespace

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

namespace {

template <class T>
std::optional<T> If(bool has, T value) {
  return has ? std::optional<T>(value) : std::nullopt;
}

template <class Point>
std::optional<double> NumberValue(const Point& p) {
  switch (p.value_case()) {
    case metrics::NumberDataPoint::kAsDouble:
      return p.as_double();
    case metrics::NumberDataPoint::kAsInt:
      return static_cast<double>(p.as_int());
    default:
      return std::nullopt;
  }
}

class MetricColumns final : public SignalColumns {
 public:
  explicit MetricColumns(arrow::MemoryPool* pool)
      : SignalColumns(SchemaFor(Signal::kMetrics), pool),
        metric_name_(Builder<arrow::StringBuilder>("MetricName")),
        metric_description_(Builder<arrow::StringBuilder>("MetricDescription")),
        metric_unit_(Builder<arrow::StringBuilder>("MetricUnit")),
        metric_type_(Builder<arrow::StringBuilder>("MetricType")),
        attributes_(Map("Attributes")),
        start_time_(Builder<arrow::TimestampBuilder>("StartTimeUnix")),
        time_(Builder<arrow::TimestampBuilder>("TimeUnix")),
        flags_(Builder<arrow::UInt32Builder>("Flags")),
        value_(Builder<arrow::DoubleBuilder>("Value")),
        count_(Builder<arrow::UInt64Builder>("Count")),
        sum_(Builder<arrow::DoubleBuilder>("Sum")),
        bucket_counts_(Builder<arrow::ListBuilder>("BucketCounts")),
        explicit_bounds_(Builder<arrow::ListBuilder>("ExplicitBounds")),
        scale_(Builder<arrow::Int32Builder>("Scale")),
        zero_count_(Builder<arrow::UInt64Builder>("ZeroCount")),
        zero_threshold_(Builder<arrow::DoubleBuilder>("ZeroThreshold")),
        positive_offset_(Builder<arrow::Int32Builder>("PositiveOffset")),
        positive_counts_(Builder<arrow::ListBuilder>("PositiveBucketCounts")),
        negative_offset_(Builder<arrow::Int32Builder>("NegativeOffset")),
        negative_counts_(Builder<arrow::ListBuilder>("NegativeBucketCounts")),
        quantiles_(Builder<arrow::ListBuilder>("ValueAtQuantiles")),
        quantile_(Values<arrow::StructBuilder>(quantiles_)),
        quantile_quantile_(Field<arrow::DoubleBuilder>(quantile_, "Quantile")),
        quantile_value_(Field<arrow::DoubleBuilder>(quantile_, "Value")),
        exemplars_(Builder<arrow::ListBuilder>("Exemplars")),
        exemplar_(Values<arrow::StructBuilder>(exemplars_)),
        exemplar_attributes_(Field<arrow::MapBuilder>(exemplar_, "FilteredAttributes")),
        exemplar_time_(Field<arrow::TimestampBuilder>(exemplar_, "TimeUnix")),
        exemplar_value_(Field<arrow::DoubleBuilder>(exemplar_, "Value")),
        exemplar_span_id_(Field<arrow::FixedSizeBinaryBuilder>(exemplar_, "SpanId")),
        exemplar_trace_id_(Field<arrow::FixedSizeBinaryBuilder>(exemplar_, "TraceId")),
        min_(Builder<arrow::DoubleBuilder>("Min")),
        max_(Builder<arrow::DoubleBuilder>("Max")),
        temporality_(Builder<arrow::Int32Builder>("AggregationTemporality")),
        monotonic_(Builder<arrow::BooleanBuilder>("IsMonotonic")) {
    // The columns that only some kinds fill: every nullable one but StartTimeUnix.
    for (const auto& field : schema_->fields()) {
      if (field->nullable() && field->name() != "StartTimeUnix") {
        kind_columns_.push_back(Builder<arrow::ArrayBuilder>(field->name()));
      }
    }
  }

  // `R` is metrics::ResourceMetrics or otlp::wire::ResourceMetrics, as in every template here.
  template <class R>
  static arrow::Result<int64_t> Check(const R& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_metrics_size(); ++s) {
      const auto& metric_list = r.scope_metrics(s).metrics();
      for (int m = 0; m < static_cast<int>(metric_list.size()); ++m) {
        const auto& metric = metric_list[m];
        // Rows of the metric, and the ids of each data point's exemplars.
        const auto check_points = [&](const auto& points, const char* kind) -> arrow::Status {
          rows += points.size();
          for (int p = 0; p < static_cast<int>(points.size()); ++p) {
            if constexpr (requires { points[p].exemplars(); }) {  // summaries have none
              const auto& exemplars = points[p].exemplars();
              for (int e = 0; e < static_cast<int>(exemplars.size()); ++e) {
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

  template <class R>
  arrow::Status Append(const R& r) {
    resource_scope_.BeginResource(r.resource(), r.schema_url());
    for (MapColumn* c : {&attributes_, &exemplar_attributes_}) c->ForgetChecked();
    for (const auto& scope_metrics : r.scope_metrics()) {
      int64_t rows = 0;
      for (const auto& metric : scope_metrics.metrics()) rows += otlp::MetricDataPoints(metric);
      ARROW_RETURN_NOT_OK(resource_scope_.Append(scope_metrics.scope(), scope_metrics.schema_url(), rows, &scratch_));
      for (const auto& metric : scope_metrics.metrics()) ARROW_RETURN_NOT_OK(AppendMetric(metric));
    }
    return arrow::Status::OK();
  }

  std::optional<arrow::Status> AppendWire(std::string_view bytes, int index, int64_t* rows,
                                          arrow::Status* failed) override {
    return AppendWireWith(this, &decoder_, bytes, index, rows, failed);
  }

 private:
  // The columns of each kind; what a kind lacks is made null by PadKindColumns().
  template <class Metric>
  arrow::Status AppendMetric(const Metric& metric) {
    switch (metric.data_case()) {
      case metrics::Metric::kGauge: {
        const auto& points = metric.gauge().data_points();
        ARROW_RETURN_NOT_OK(AppendPoints(metric, "Gauge", points));
        ARROW_RETURN_NOT_OK(AppendEach(value_, points, [](const auto& p) { return NumberValue(p); }));
        ARROW_RETURN_NOT_OK(AppendExemplars(points));
        break;
      }
      case metrics::Metric::kSum: {
        const auto& sum = metric.sum();
        const auto& points = sum.data_points();
        ARROW_RETURN_NOT_OK(AppendPoints(metric, "Sum", points));
        ARROW_RETURN_NOT_OK(AppendEach(value_, points, [](const auto& p) { return NumberValue(p); }));
        ARROW_RETURN_NOT_OK(AppendExemplars(points));
        ARROW_RETURN_NOT_OK(AppendTemporality(sum.aggregation_temporality(), points));
        ARROW_RETURN_NOT_OK(AppendEach(monotonic_, points, [&sum](const auto&) { return sum.is_monotonic(); }));
        break;
      }
      case metrics::Metric::kHistogram: {
        const auto& histogram = metric.histogram();
        const auto& points = histogram.data_points();
        using Point = std::remove_cvref_t<decltype(points[0])>;
        ARROW_RETURN_NOT_OK(AppendPoints(metric, "Histogram", points));
        ARROW_RETURN_NOT_OK(AppendCountSumMinMax(points));
        ARROW_RETURN_NOT_OK(AppendNumberLists<arrow::UInt64Builder>(
            bucket_counts_, points, [](const Point& p) -> auto& { return p.bucket_counts(); }));
        ARROW_RETURN_NOT_OK(AppendNumberLists<arrow::DoubleBuilder>(
            explicit_bounds_, points, [](const Point& p) -> auto& { return p.explicit_bounds(); }));
        ARROW_RETURN_NOT_OK(AppendExemplars(points));
        ARROW_RETURN_NOT_OK(AppendTemporality(histogram.aggregation_temporality(), points));
        break;
      }
      case metrics::Metric::kExponentialHistogram: {
        const auto& histogram = metric.exponential_histogram();
        const auto& points = histogram.data_points();
        using Point = std::remove_cvref_t<decltype(points[0])>;
        ARROW_RETURN_NOT_OK(AppendPoints(metric, "ExponentialHistogram", points));
        ARROW_RETURN_NOT_OK(AppendCountSumMinMax(points));
        ARROW_RETURN_NOT_OK(AppendEach(scale_, points, [](const Point& p) { return p.scale(); }));
        ARROW_RETURN_NOT_OK(AppendEach(zero_count_, points, [](const Point& p) { return p.zero_count(); }));
        ARROW_RETURN_NOT_OK(AppendEach(zero_threshold_, points, [](const Point& p) { return p.zero_threshold(); }));
        ARROW_RETURN_NOT_OK(AppendBuckets(
            positive_offset_, positive_counts_, points, [](const Point& p) -> auto& { return p.positive(); }));
        ARROW_RETURN_NOT_OK(AppendBuckets(
            negative_offset_, negative_counts_, points, [](const Point& p) -> auto& { return p.negative(); }));
        ARROW_RETURN_NOT_OK(AppendExemplars(points));
        ARROW_RETURN_NOT_OK(AppendTemporality(histogram.aggregation_temporality(), points));
        break;
      }
      case metrics::Metric::kSummary: {
        const auto& points = metric.summary().data_points();
        using Point = std::remove_cvref_t<decltype(points[0])>;
        ARROW_RETURN_NOT_OK(AppendPoints(metric, "Summary", points));
        ARROW_RETURN_NOT_OK(AppendEach(count_, points, [](const Point& p) { return p.count(); }));
        ARROW_RETURN_NOT_OK(AppendEach(sum_, points, [](const Point& p) { return p.sum(); }));
        ARROW_RETURN_NOT_OK(AppendQuantiles(points));
        break;
      }
      default:  // a metric without data has no rows
        return arrow::Status::OK();
    }
    return PadKindColumns();
  }

  // The columns of every kind: the metric's and the point's own.
  template <class Metric, class Points>
  arrow::Status AppendPoints(const Metric& metric, std::string_view type, const Points& points) {
    using Point = std::remove_cvref_t<decltype(points[0])>;
    const int64_t n = points.size();
    ARROW_RETURN_NOT_OK(AppendRepeated(metric_name_, metric.name(), n));
    ARROW_RETURN_NOT_OK(AppendRepeated(metric_description_, metric.description(), n));
    ARROW_RETURN_NOT_OK(AppendRepeated(metric_unit_, metric.unit(), n));
    ARROW_RETURN_NOT_OK(AppendRepeated(metric_type_, type, n));
    ARROW_RETURN_NOT_OK(attributes_.AppendEach(
        points, [](const Point& p) -> auto& { return p.attributes(); }, &scratch_));
    ARROW_RETURN_NOT_OK(AppendEach(start_time_, points, [](const Point& p) {
      return If(p.start_time_unix_nano() != 0, Nanos(p.start_time_unix_nano()));  // 0 is "unknown" in OTLP
    }));
    ARROW_RETURN_NOT_OK(AppendEach(time_, points, [](const Point& p) { return Nanos(p.time_unix_nano()); }));
    return AppendEach(flags_, points, [](const Point& p) { return p.flags(); });
  }

  // Histograms: sum, min and max are optional in OTLP.
  template <class Points>
  arrow::Status AppendCountSumMinMax(const Points& points) {
    using Point = std::remove_cvref_t<decltype(points[0])>;
    ARROW_RETURN_NOT_OK(AppendEach(count_, points, [](const Point& p) { return p.count(); }));
    ARROW_RETURN_NOT_OK(AppendEach(sum_, points, [](const Point& p) { return If(p.has_sum(), p.sum()); }));
    ARROW_RETURN_NOT_OK(AppendEach(min_, points, [](const Point& p) { return If(p.has_min(), p.min()); }));
    return AppendEach(max_, points, [](const Point& p) { return If(p.has_max(), p.max()); });
  }

  template <class Points>
  arrow::Status AppendTemporality(metrics::AggregationTemporality temporality, const Points& points) {
    return AppendEach(temporality_, points, [temporality](const auto&) { return static_cast<int32_t>(temporality); });
  }

  // A list of numbers per point: get(point) is the repeated field.
  template <class ValueBuilder, class Points, class Get>
  arrow::Status AppendNumberLists(arrow::ListBuilder* list, const Points& points, Get&& get) {
    ARROW_RETURN_NOT_OK(AppendListSlots(
        list, points, [&](const auto& p) { return get(p).size(); }, &scratch_.offsets));
    auto* values = static_cast<ValueBuilder*>(list->value_builder());
    for (const auto& p : points) {
      const auto& numbers = get(p);
      if (numbers.empty()) continue;  // data() may be null: no memcpy from it
      ARROW_RETURN_NOT_OK(values->AppendValues(numbers.data(), numbers.size()));
    }
    return arrow::Status::OK();
  }

  // Offset and counts of one side of an exponential histogram.
  template <class Points, class Get>
  arrow::Status AppendBuckets(arrow::Int32Builder* offset, arrow::ListBuilder* counts, const Points& points,
                              Get&& get) {
    ARROW_RETURN_NOT_OK(AppendEach(offset, points, [&](const auto& p) { return get(p).offset(); }));
    return AppendNumberLists<arrow::UInt64Builder>(
        counts, points, [&](const auto& p) -> auto& { return get(p).bucket_counts(); });
  }

  template <class Points>
  arrow::Status AppendExemplars(const Points& points) {
    using Exemplars = std::remove_cvref_t<decltype(points[0].exemplars())>;
    using Exemplar = std::remove_cvref_t<decltype(points[0].exemplars()[0])>;
    return AppendStructLists(
        exemplars_, points, [](const auto& p) -> auto& { return p.exemplars(); },
        [this](const Exemplars& exemplars) {
          ARROW_RETURN_NOT_OK(exemplar_attributes_.AppendEach(
              exemplars, [](const Exemplar& e) -> auto& { return e.filtered_attributes(); }, &scratch_));
          ARROW_RETURN_NOT_OK(
              AppendEach(exemplar_time_, exemplars, [](const Exemplar& e) { return Nanos(e.time_unix_nano()); }));
          ARROW_RETURN_NOT_OK(AppendEach(exemplar_value_, exemplars, [](const Exemplar& e) -> std::optional<double> {
            switch (e.value_case()) {
              case metrics::Exemplar::kAsDouble:
                return e.as_double();
              case metrics::Exemplar::kAsInt:
                return static_cast<double>(e.as_int());
              default:
                return std::nullopt;
            }
          }));
          ARROW_RETURN_NOT_OK(AppendEach(
              exemplar_span_id_, exemplars, [](const Exemplar& e) -> auto& { return e.span_id(); }));
          return AppendEach(
              exemplar_trace_id_, exemplars, [](const Exemplar& e) -> auto& { return e.trace_id(); });
        },
        &scratch_.offsets);
  }

  template <class Points>
  arrow::Status AppendQuantiles(const Points& points) {
    using Quantiles = std::remove_cvref_t<decltype(points[0].quantile_values())>;
    using Quantile = std::remove_cvref_t<decltype(points[0].quantile_values()[0])>;
    return AppendStructLists(
        quantiles_, points, [](const auto& p) -> auto& { return p.quantile_values(); },
        [this](const Quantiles& quantiles) {
          ARROW_RETURN_NOT_OK(
              AppendEach(quantile_quantile_, quantiles, [](const Quantile& q) { return q.quantile(); }));
          return AppendEach(quantile_value_, quantiles, [](const Quantile& q) { return q.value(); });
        },
        &scratch_.offsets);
  }

  // Nulls in the kind columns the metric's kind did not fill, up to the rows of TimeUnix.
  arrow::Status PadKindColumns() {
    for (arrow::ArrayBuilder* column : kind_columns_) {
      if (const int64_t missing = time_->length() - column->length(); missing > 0) {
        ARROW_RETURN_NOT_OK(column->AppendNulls(missing));
      }
    }
    return arrow::Status::OK();
  }

  arrow::StringBuilder* metric_name_;
  arrow::StringBuilder* metric_description_;
  arrow::StringBuilder* metric_unit_;
  arrow::StringBuilder* metric_type_;
  MapColumn attributes_;
  arrow::TimestampBuilder* start_time_;
  arrow::TimestampBuilder* time_;
  arrow::UInt32Builder* flags_;
  arrow::DoubleBuilder* value_;
  arrow::UInt64Builder* count_;
  arrow::DoubleBuilder* sum_;
  arrow::ListBuilder* bucket_counts_;
  arrow::ListBuilder* explicit_bounds_;
  arrow::Int32Builder* scale_;
  arrow::UInt64Builder* zero_count_;
  arrow::DoubleBuilder* zero_threshold_;
  arrow::Int32Builder* positive_offset_;
  arrow::ListBuilder* positive_counts_;
  arrow::Int32Builder* negative_offset_;
  arrow::ListBuilder* negative_counts_;
  arrow::ListBuilder* quantiles_;
  arrow::StructBuilder* quantile_;
  arrow::DoubleBuilder* quantile_quantile_;
  arrow::DoubleBuilder* quantile_value_;
  arrow::ListBuilder* exemplars_;
  arrow::StructBuilder* exemplar_;
  MapColumn exemplar_attributes_;
  arrow::TimestampBuilder* exemplar_time_;
  arrow::DoubleBuilder* exemplar_value_;
  arrow::FixedSizeBinaryBuilder* exemplar_span_id_;
  arrow::FixedSizeBinaryBuilder* exemplar_trace_id_;
  arrow::DoubleBuilder* min_;
  arrow::DoubleBuilder* max_;
  arrow::Int32Builder* temporality_;
  arrow::BooleanBuilder* monotonic_;
  std::vector<arrow::ArrayBuilder*> kind_columns_;
  otlp::wire::MetricsDecoder decoder_;
};

}  // namespace

std::unique_ptr<SignalColumns> MakeMetricColumns(arrow::MemoryPool* pool) {
  return std::make_unique<MetricColumns>(pool);
}

}  // namespace internal

arrow::Status ArrowConverter::Append(const metrics::ResourceMetrics& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kMetrics));
  return internal::AppendResource<internal::MetricColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

}  // namespace openwit::ingest
