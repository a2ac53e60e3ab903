// OTLP traces -> Arrow (ingest/arrow_convert_traces.cc): every column with events and links, the
// kind and status texts, id checks with their field paths, reuse after Finish().

#include <string>
#include <vector>

#include "arrow_convert_test_util.h"

namespace openwit::ingest::arrow_test {

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

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ArrowConvertTraces, EveryColumn) {
  const auto b = Convert(Signal::kTraces, SampleSpans());
  ASSERT_EQ(b->num_rows(), 2);

  const std::string schema = "https://opentelemetry.io/schemas/1.26.0";
  ExpectColumns(*b, {
                        {"Timestamp", {N(kT0), N(kT0 + 5)}},
                        {"TraceId", {Id(16, 1), Id(16, 1)}},
                        {"SpanId", {Id(8, 101), Id(8, 102)}},
                        {"ParentSpanId", {Id(8, 201), "null"}},  // the second is a root span
                        {"TraceState", {"vendor=a", ""}},
                        {"SpanName", {"GET /cart", "render"}},
                        {"SpanKind", {"Server", "Internal"}},
                        {"ServiceName", {"frontend", "frontend"}},
                        {"ResourceSchemaUrl", {schema, schema}},
                        {"ScopeSchemaUrl", {"scope-schema", "scope-schema"}},
                        {"ScopeName", {"io.openwit.http", "io.openwit.http"}},
                        {"ScopeVersion", {"0.9", "0.9"}},
                        {"Duration", {"1500", "0"}},
                        {"StatusCode", {"Error", "Unset"}},
                        {"StatusMessage", {"upstream timeout", ""}},
                    });
  ExpectMaps(*b, "ResourceAttributes", {{{"service.name", "frontend"}}, {{"service.name", "frontend"}}});
  ExpectMaps(*b, "ScopeAttributes", {{{"sampled.ratio", "0.25"}}, {{"sampled.ratio", "0.25"}}});
  ExpectMaps(*b, "SpanAttributes", {{{"http.method", "GET"}, {"http.status_code", "500"}}, {}});

  const ListCell events = ListAt(*b, "Events", 0);
  ASSERT_EQ(events.size, 2);
  EXPECT_EQ(events.Nanos("Timestamp", 0), kT0 + 10);
  EXPECT_EQ(events.Str("Name", 0), "retry");
  EXPECT_THAT(events.Map("Attributes", 0), ElementsAre(Entry{"attempt", "2"}));
  EXPECT_EQ(events.Nanos("Timestamp", 1), kT0 + 20);
  EXPECT_EQ(events.Str("Name", 1), "exception");
  EXPECT_THAT(events.Map("Attributes", 1), ElementsAre(Entry{"exception.type", "Timeout"}));

  const ListCell links = ListAt(*b, "Links", 0);
  ASSERT_EQ(links.size, 2);
  EXPECT_EQ(links.Id("TraceId", 0), Id(16, 51));
  EXPECT_EQ(links.Id("SpanId", 0), Id(8, 151));
  EXPECT_EQ(links.Str("TraceState", 0), "vendor=b");
  EXPECT_THAT(links.Map("Attributes", 0), ElementsAre(Entry{"link.kind", "follows"}));
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
  ExpectColumns(*Convert(Signal::kTraces, r),
                {
                    {"SpanKind", {"Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"}},
                    {"StatusCode", {"Unset", "Ok", "Error", "Unset", "Ok", "Error"}},
                });
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

}  // namespace
}  // namespace openwit::ingest::arrow_test
