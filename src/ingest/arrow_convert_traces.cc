// Traces: the otel_traces schema and its columns, events and links as list<struct> columns
// (arrow_convert.h says how it differs from the exporter's table).

#include <string_view>

#include "ingest/arrow_convert.h"
#include "ingest/arrow_convert_columns.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace openwit::ingest {

namespace trace = opentelemetry::proto::trace::v1;

namespace internal {

namespace {

// Events.{Timestamp, Name, Attributes} of otel_traces.
std::shared_ptr<arrow::DataType> EventType() {
  return arrow::struct_({arrow::field("Timestamp", TimeType()), arrow::field("Name", arrow::utf8()),
                         arrow::field("Attributes", AttributesType())});
}

// Links.{TraceId, SpanId, TraceState, Attributes} of otel_traces.
std::shared_ptr<arrow::DataType> LinkType() {
  return arrow::struct_({arrow::field("TraceId", TraceIdType()), arrow::field("SpanId", SpanIdType()),
                         arrow::field("TraceState", arrow::utf8()), arrow::field("Attributes", AttributesType())});
}

}  // namespace

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

namespace {

using trace::Span;

// pdata's SpanKind.String() and StatusCode.String(), which the exporter writes.
std::string_view SpanKindText(int kind) {
  switch (kind) {
    case Span::SPAN_KIND_UNSPECIFIED:
      return "Unspecified";
    case Span::SPAN_KIND_INTERNAL:
      return "Internal";
    case Span::SPAN_KIND_SERVER:
      return "Server";
    case Span::SPAN_KIND_CLIENT:
      return "Client";
    case Span::SPAN_KIND_PRODUCER:
      return "Producer";
    case Span::SPAN_KIND_CONSUMER:
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
        timestamp_(Builder<arrow::TimestampBuilder>("Timestamp")),
        trace_id_(Builder<arrow::FixedSizeBinaryBuilder>("TraceId")),
        span_id_(Builder<arrow::FixedSizeBinaryBuilder>("SpanId")),
        parent_span_id_(Builder<arrow::FixedSizeBinaryBuilder>("ParentSpanId")),
        trace_state_(Builder<arrow::StringBuilder>("TraceState")),
        span_name_(Builder<arrow::StringBuilder>("SpanName")),
        span_kind_(Builder<arrow::StringBuilder>("SpanKind")),
        span_attributes_(Map("SpanAttributes")),
        duration_(Builder<arrow::Int64Builder>("Duration")),
        status_code_(Builder<arrow::StringBuilder>("StatusCode")),
        status_message_(Builder<arrow::StringBuilder>("StatusMessage")),
        events_(Builder<arrow::ListBuilder>("Events")),
        event_(Values<arrow::StructBuilder>(events_)),
        event_time_(Field<arrow::TimestampBuilder>(event_, "Timestamp")),
        event_name_(Field<arrow::StringBuilder>(event_, "Name")),
        event_attributes_(Field<arrow::MapBuilder>(event_, "Attributes")),
        links_(Builder<arrow::ListBuilder>("Links")),
        link_(Values<arrow::StructBuilder>(links_)),
        link_trace_id_(Field<arrow::FixedSizeBinaryBuilder>(link_, "TraceId")),
        link_span_id_(Field<arrow::FixedSizeBinaryBuilder>(link_, "SpanId")),
        link_trace_state_(Field<arrow::StringBuilder>(link_, "TraceState")),
        link_attributes_(Field<arrow::MapBuilder>(link_, "Attributes")) {}

  // `R` is trace::ResourceSpans or otlp::wire::ResourceSpans, as in every template here.
  template <class R>
  static arrow::Result<int64_t> Check(const R& r, int index) {
    int64_t rows = 0;
    for (int s = 0; s < r.scope_spans_size(); ++s) {
      const auto& spans = r.scope_spans(s).spans();
      rows += spans.size();
      for (int i = 0; i < static_cast<int>(spans.size()); ++i) {
        const auto& span = spans[i];
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

  template <class R>
  arrow::Status Append(const R& r) {
    resource_scope_.BeginResource(r.resource(), r.schema_url());
    for (MapColumn* c : {&span_attributes_, &event_attributes_, &link_attributes_}) c->ForgetChecked();
    for (const auto& scope_spans : r.scope_spans()) {
      const auto& spans = scope_spans.spans();
      ARROW_RETURN_NOT_OK(
          resource_scope_.Append(scope_spans.scope(), scope_spans.schema_url(), spans.size(), &scratch_));
      ARROW_RETURN_NOT_OK(AppendSpans(spans));
      ARROW_RETURN_NOT_OK(AppendEvents(spans));
      ARROW_RETURN_NOT_OK(AppendLinks(spans));
    }
    return arrow::Status::OK();
  }

  std::optional<arrow::Status> AppendWire(std::string_view bytes, int index, int64_t* rows,
                                          arrow::Status* failed) override {
    return AppendWireWith(this, &decoder_, bytes, index, rows, failed);
  }

 private:
  template <class Spans>
  arrow::Status AppendSpans(const Spans& spans) {
    using Span = std::remove_cvref_t<decltype(spans[0])>;
    ARROW_RETURN_NOT_OK(AppendEach(timestamp_, spans, [](const Span& s) { return Nanos(s.start_time_unix_nano()); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        trace_id_, spans, [](const Span& s) -> auto& { return s.trace_id(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        span_id_, spans, [](const Span& s) -> auto& { return s.span_id(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        parent_span_id_, spans, [](const Span& s) -> auto& { return s.parent_span_id(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        trace_state_, spans, [](const Span& s) -> auto& { return s.trace_state(); }));
    ARROW_RETURN_NOT_OK(AppendEach(
        span_name_, spans, [](const Span& s) -> auto& { return s.name(); }));
    ARROW_RETURN_NOT_OK(AppendEach(span_kind_, spans, [](const Span& s) { return SpanKindText(s.kind()); }));
    ARROW_RETURN_NOT_OK(span_attributes_.AppendEach(
        spans, [](const Span& s) -> auto& { return s.attributes(); }, &scratch_));
    // Unsigned difference read as signed: an end before the start gives a negative duration.
    ARROW_RETURN_NOT_OK(AppendEach(duration_, spans, [](const Span& s) {
      return static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano());
    }));
    ARROW_RETURN_NOT_OK(
        AppendEach(status_code_, spans, [](const Span& s) { return StatusCodeText(s.status().code()); }));
    return AppendEach(
        status_message_, spans, [](const Span& s) -> auto& { return s.status().message(); });
  }

  // Events and links: a list per span, empty when it has none.
  template <class Spans>
  arrow::Status AppendEvents(const Spans& spans) {
    using Span = std::remove_cvref_t<decltype(spans[0])>;
    using Events = std::remove_cvref_t<decltype(spans[0].events())>;
    using Event = std::remove_cvref_t<decltype(spans[0].events()[0])>;
    return AppendStructLists(
        events_, spans, [](const Span& s) -> auto& { return s.events(); },
        [this](const Events& events) {
          ARROW_RETURN_NOT_OK(
              AppendEach(event_time_, events, [](const Event& e) { return Nanos(e.time_unix_nano()); }));
          ARROW_RETURN_NOT_OK(AppendEach(
              event_name_, events, [](const Event& e) -> auto& { return e.name(); }));
          return event_attributes_.AppendEach(
              events, [](const Event& e) -> auto& { return e.attributes(); }, &scratch_);
        },
        &scratch_.offsets);
  }

  template <class Spans>
  arrow::Status AppendLinks(const Spans& spans) {
    using Span = std::remove_cvref_t<decltype(spans[0])>;
    using Links = std::remove_cvref_t<decltype(spans[0].links())>;
    using Link = std::remove_cvref_t<decltype(spans[0].links()[0])>;
    return AppendStructLists(
        links_, spans, [](const Span& s) -> auto& { return s.links(); },
        [this](const Links& links) {
          ARROW_RETURN_NOT_OK(AppendEach(
              link_trace_id_, links, [](const Link& l) -> auto& { return l.trace_id(); }));
          ARROW_RETURN_NOT_OK(AppendEach(
              link_span_id_, links, [](const Link& l) -> auto& { return l.span_id(); }));
          ARROW_RETURN_NOT_OK(AppendEach(
              link_trace_state_, links, [](const Link& l) -> auto& { return l.trace_state(); }));
          return link_attributes_.AppendEach(
              links, [](const Link& l) -> auto& { return l.attributes(); }, &scratch_);
        },
        &scratch_.offsets);
  }

  arrow::TimestampBuilder* timestamp_;
  arrow::FixedSizeBinaryBuilder* trace_id_;
  arrow::FixedSizeBinaryBuilder* span_id_;
  arrow::FixedSizeBinaryBuilder* parent_span_id_;
  arrow::StringBuilder* trace_state_;
  arrow::StringBuilder* span_name_;
  arrow::StringBuilder* span_kind_;
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
  otlp::wire::TracesDecoder decoder_;
};

}  // namespace

std::unique_ptr<SignalColumns> MakeSpanColumns(arrow::MemoryPool* pool) { return std::make_unique<SpanColumns>(pool); }

}  // namespace internal

arrow::Status ArrowConverter::Append(const trace::ResourceSpans& r) {
  ARROW_RETURN_NOT_OK(BeginAppend(Signal::kTraces));
  return internal::AppendResource<internal::SpanColumns>(columns_.get(), r, resources_++, &rows_, &failed_);
}

}  // namespace openwit::ingest
