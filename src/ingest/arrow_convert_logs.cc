// Logs: the otel_logs schema and its columns (arrow_convert.h says how it differs from the
// exporter's table).

#include <string_view>

#include "ingest/arrow_convert.h"
#include "ingest/arrow_convert_columns.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"

namespace openwit::ingest {

namespace logs = opentelemetry::proto::logs::v1;

namespace internal {

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

namespace {

class LogColumns final : public SignalColumns {
 public:
  explicit LogColumns(arrow::MemoryPool* pool)
      : SignalColumns(SchemaFor(Signal::kLogs), pool),
        timestamp_(Builder<arrow::TimestampBuilder>("Timestamp")),
        observed_timestamp_(Builder<arrow::TimestampBuilder>("ObservedTimestamp")),
        trace_id_(Builder<arrow::FixedSizeBinaryBuilder>("TraceId")),
        span_id_(Builder<arrow::FixedSizeBinaryBuilder>("SpanId")),
        trace_flags_(Builder<arrow::UInt32Builder>("TraceFlags")),
        severity_text_(Builder<arrow::StringBuilder>("SeverityText")),
        severity_number_(Builder<arrow::Int32Builder>("SeverityNumber")),
        body_(Builder<arrow::StringBuilder>("Body")),
        log_attributes_(Map("LogAttributes")),
        event_name_(Builder<arrow::StringBuilder>("EventName")) {}

  // Row count of the resource, or the first id of a wrong length. `R` is logs::ResourceLogs or
  // otlp::wire::ResourceLogs, as in every template here.
  template <class R>
  static arrow::Result<int64_t> Check(const R& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_logs_size(); ++s) {
      const auto& records = r.scope_logs(s).log_records();
      rows += records.size();
      for (int i = 0; i < static_cast<int>(records.size()); ++i) {
        const auto path = [&] { return fmt::format("resource_logs[{}].scope_logs[{}].log_records[{}]", index, s, i); };
        ARROW_RETURN_NOT_OK(CheckId(records[i].trace_id(), kTraceIdSize, "trace_id", path));
        ARROW_RETURN_NOT_OK(CheckId(records[i].span_id(), kSpanIdSize, "span_id", path));
      }
    }
    return rows;
  }

  template <class R>
  arrow::Status Append(const R& r) {
    resource_scope_.BeginResource(r.resource(), r.schema_url());
    log_attributes_.ForgetChecked();
    for (const auto& scope_logs : r.scope_logs()) {
      const auto& records = scope_logs.log_records();
      ARROW_RETURN_NOT_OK(
          resource_scope_.Append(scope_logs.scope(), scope_logs.schema_url(), records.size(), &scratch_));
      ARROW_RETURN_NOT_OK(AppendRecords(records));
    }
    return arrow::Status::OK();
  }

  std::optional<arrow::Status> AppendWire(std::string_view bytes, int index, int64_t* rows,
                                          arrow::Status* failed) override {
    return AppendWireWith(this, &decoder_, bytes, index, rows, failed);
  }

 private:
  template <class Records>
  arrow::Status AppendRecords(const Records& records) {
    using Record = std::remove_cvref_t<decltype(records[0])>;
    // As the exporter: a record without time_unix_nano is placed at its observed time, and one
    // with neither was observed when the gateway received its batch (untimed_at_).
    ARROW_RETURN_NOT_OK(AppendEach(timestamp_, records, [this](const Record& rec) {
      const uint64_t t = rec.time_unix_nano() != 0 ? rec.time_unix_nano() : rec.observed_time_unix_nano();
      return Nanos(t != 0 ? t : untimed_at_);
    }));
    ARROW_RETURN_NOT_OK(AppendEach(observed_timestamp_, records, [this](const Record& rec) {
      uint64_t t = rec.observed_time_unix_nano();
      if (t == 0 && rec.time_unix_nano() == 0) t = untimed_at_;
      return t == 0 ? std::nullopt : std::optional(Nanos(t));
    }));
    ARROW_RETURN_NOT_OK(AppendEach(
        trace_id_, records, [](const Record& rec) -> auto& { return rec.trace_id(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        span_id_, records, [](const Record& rec) -> auto& { return rec.span_id(); }));
    ARROW_RETURN_NOT_OK(AppendEach(trace_flags_, records, [](const Record& rec) { return rec.flags(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        severity_text_, records, [](const Record& rec) -> auto& { return rec.severity_text(); }));
    ARROW_RETURN_NOT_OK(AppendEach(severity_number_, records,
                                   [](const Record& rec) { return static_cast<int32_t>(rec.severity_number()); }));
    ARROW_RETURN_NOT_OK(body_->Reserve(records.size()));
    for (const auto& rec : records) ARROW_RETURN_NOT_OK(AppendValueText(rec.body(), body_, &scratch_.text));
    ARROW_RETURN_NOT_OK(log_attributes_.AppendEach(
        records, [](const Record& rec) -> auto& { return rec.attributes(); }, &scratch_));
    return AppendEach(
        event_name_, records, [](const Record& rec) -> auto& { return rec.event_name(); });
  }

  arrow::TimestampBuilder* timestamp_;
  arrow::TimestampBuilder* observed_timestamp_;
  arrow::FixedSizeBinaryBuilder* trace_id_;
  arrow::FixedSizeBinaryBuilder* span_id_;
  arrow::UInt32Builder* trace_flags_;
  arrow::StringBuilder* severity_text_;
  arrow::Int32Builder* severity_number_;
  arrow::StringBuilder* body_;
  MapColumn log_attributes_;
  arrow::StringBuilder* event_name_;
  otlp::wire::LogsDecoder decoder_;
};

}  // namespace

std::unique_ptr<SignalColumns> MakeLogColumns(arrow::MemoryPool* pool) { return std::make_unique<LogColumns>(pool); }

}  // namespace internal

arrow::Status ArrowConverter::Append(const logs::ResourceLogs& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kLogs));
  return internal::AppendResource<internal::LogColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

}  // namespace openwit::ingest
