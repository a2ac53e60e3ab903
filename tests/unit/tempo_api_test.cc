// The Tempo API of the search role (search/tempo_api.h) over a lake file written as storage writes
// it, from spans converted as ingest converts them: a trace comes back as the OTLP that went in.

#include <cctype>
#include <string_view>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "search/compat_api.h"
#include "search/tempo_api.h"
#include "search/trace_view.h"
#include "span_lake_fixture.h"

namespace openwit::search {
namespace {

namespace trace = opentelemetry::proto::trace::v1;
using ingest::arrow_test::Id;
using ingest::arrow_test::kT0;
using ingest::arrow_test::SampleSpans;

TEST(TempoParseTest, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("300ms"), 300000000);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1500000000);
  EXPECT_EQ(*ParseGoDuration("1h30m"), 5400LL * 1000000000);
  EXPECT_EQ(*ParseGoDuration("250us"), 250000);
  EXPECT_EQ(*ParseGoDuration("10ns"), 10);
  for (const char* bad : {"", "5", "ms", "5 days", "1.2.3s", "-1s"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
}

TEST(TempoParseTest, Logfmt) {
  auto tags = ParseLogfmt(R"( service.name=api name="GET /cart"  http.route="a \"b\"" e=)");
  ASSERT_TRUE(tags.ok()) << tags.status();
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*tags, (Pairs{{"service.name", "api"}, {"name", "GET /cart"}, {"http.route", "a \"b\""}, {"e", ""}}));
  EXPECT_TRUE(ParseLogfmt("").ValueOrDie().empty());
  EXPECT_FALSE(ParseLogfmt("novalue").ok());
  EXPECT_FALSE(ParseLogfmt("a=\"open").ok());
  EXPECT_FALSE(ParseLogfmt("=x").ok());
}

TEST(TempoParseTest, TraceIdsArePaddedHex) {
  EXPECT_EQ(*TraceIdFromHex("0102030405060708090a0b0c0d0e0f10"), Id(16, 1));
  EXPECT_EQ(Hex(*TraceIdFromHex("ABC")), "00000000000000000000000000000abc");
  EXPECT_FALSE(TraceIdFromHex("").ok());
  EXPECT_FALSE(TraceIdFromHex("xyz").ok());
  EXPECT_FALSE(TraceIdFromHex(std::string(33, 'a')).ok());
}

class TempoApiTest : public SpanLakeTest {
 protected:
  std::vector<SearchRoute> Routes(QueryEngine* engine) override { return TempoRoutes(engine); }
};

TEST_F(TempoApiTest, TraceByIdAsProtobufIsTheOtlpThatWentIn) {
  auto r = Get("a", "/tempo/api/traces/0102030405060708090a0b0c0d0e0f10", "application/protobuf");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/protobuf");
  trace::TracesData got;
  ASSERT_TRUE(got.ParseFromString(r.body));
  ASSERT_EQ(got.resource_spans_size(), 1);
  const auto& resource = got.resource_spans(0);
  const trace::ResourceSpans sent = SampleSpans();
  EXPECT_EQ(resource.schema_url(), sent.schema_url());
  ASSERT_EQ(resource.resource().attributes_size(), 1);
  EXPECT_EQ(resource.resource().attributes(0).key(), "service.name");
  EXPECT_EQ(resource.resource().attributes(0).value().string_value(), "frontend");
  ASSERT_EQ(resource.scope_spans_size(), 1);
  const auto& scope = resource.scope_spans(0);
  EXPECT_EQ(scope.scope().name(), "io.openwit.http");
  EXPECT_EQ(scope.scope().version(), "0.9");
  EXPECT_EQ(scope.schema_url(), "scope-schema");
  ASSERT_EQ(scope.scope().attributes_size(), 1);
  EXPECT_EQ(scope.scope().attributes(0).value().string_value(), "0.25");  // a double comes back as its text
  ASSERT_EQ(scope.spans_size(), 2);
  for (int i = 0; i < 2; ++i) {
    const auto& want = sent.scope_spans(0).spans(i);
    const auto& span = scope.spans(i);  // ordered by start time, as sent
    EXPECT_EQ(span.trace_id(), want.trace_id());
    EXPECT_EQ(span.span_id(), want.span_id());
    EXPECT_EQ(span.parent_span_id(), want.parent_span_id());
    EXPECT_EQ(span.trace_state(), want.trace_state());
    EXPECT_EQ(span.name(), want.name());
    EXPECT_EQ(span.kind(), want.kind());
    EXPECT_EQ(span.start_time_unix_nano(), want.start_time_unix_nano()) << "nanoseconds kept";
    EXPECT_EQ(span.end_time_unix_nano(), want.end_time_unix_nano());
    EXPECT_EQ(span.status().code(), want.status().code());
    EXPECT_EQ(span.status().message(), want.status().message());
    ASSERT_EQ(span.attributes_size(), want.attributes_size());
    ASSERT_EQ(span.events_size(), want.events_size());
    for (int e = 0; e < span.events_size(); ++e) {
      EXPECT_EQ(span.events(e).name(), want.events(e).name());
      EXPECT_EQ(span.events(e).time_unix_nano(), want.events(e).time_unix_nano());
      EXPECT_EQ(span.events(e).attributes_size(), want.events(e).attributes_size());
    }
    ASSERT_EQ(span.links_size(), want.links_size());
    for (int l = 0; l < span.links_size(); ++l) {
      EXPECT_EQ(span.links(l).trace_id(), want.links(l).trace_id());
      EXPECT_EQ(span.links(l).span_id(), want.links(l).span_id());
      EXPECT_EQ(span.links(l).trace_state(), want.links(l).trace_state());
      EXPECT_EQ(span.links(l).attributes_size(), want.links(l).attributes_size());
    }
  }
  EXPECT_EQ(scope.spans(0).attributes(1).key(), "http.status_code");
  EXPECT_EQ(scope.spans(0).attributes(1).value().string_value(), "500");
  EXPECT_EQ(scope.spans(0).events(0).attributes(0).value().string_value(), "2");
  EXPECT_EQ(scope.spans(0).links(0).attributes(0).value().string_value(), "follows");
}

TEST_F(TempoApiTest, TraceByIdAsJsonHasHexIdsAndV2WrapsIt) {
  auto v1 = Get("a", "/tempo/api/traces/102030405060708090a0b0c0d0e0f10");  // a leading zero left out
  ASSERT_EQ(v1.status, 200) << v1.body;
  auto json = nlohmann::json::parse(v1.body);
  const auto& span = json["batches"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(span["spanId"], Hex(Id(8, 101)));
  EXPECT_EQ(span["parentSpanId"], Hex(Id(8, 201)));
  EXPECT_EQ(span["startTimeUnixNano"], std::to_string(kT0));
  EXPECT_EQ(span["kind"], 2);
  auto v2 = Get("a", "/tempo/api/v2/traces/0102030405060708090a0b0c0d0e0f10");
  ASSERT_EQ(v2.status, 200) << v2.body;
  EXPECT_EQ(nlohmann::json::parse(v2.body)["trace"]["resourceSpans"], json["batches"]);
  auto v2proto = Get("a", "/tempo/api/v2/traces/0102030405060708090a0b0c0d0e0f10", "application/protobuf");
  ASSERT_EQ(v2proto.status, 200);
  // TraceByIDResponse { Trace trace = 1; }: a tag, a length, then the TracesData of v1.
  auto v1proto = Get("a", "/tempo/api/traces/0102030405060708090a0b0c0d0e0f10", "application/protobuf");
  EXPECT_EQ(v2proto.body.substr(v2proto.body.size() - v1proto.body.size()), v1proto.body);
  EXPECT_EQ(v2proto.body[0], '\x0a');
}

TEST_F(TempoApiTest, UnknownTraceIs404AndBadIdIs400AndTenantsStayApart) {
  EXPECT_EQ(Get("a", "/tempo/api/traces/ffffffffffffffffffffffffffffffff").status, 404);
  EXPECT_EQ(Get("a", "/tempo/api/traces/nothex").status, 400);
  // Tenant b has only the sample trace: the second trace of a is unknown to it.
  EXPECT_EQ(Get("b", "/tempo/api/traces/" + Hex(Id(16, 61))).status, 404);
  EXPECT_EQ(Get("a", "/tempo/api/traces/" + Hex(Id(16, 61))).status, 200);
  EXPECT_EQ(Get("c", "/tempo/api/traces/" + Hex(Id(16, 1))).status, 404);
}

TEST_F(TempoApiTest, SearchByTagsAndDuration) {
  auto search = [&](const std::string& query) {
    auto r = Get("a", "/tempo/api/search?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<std::string> ids;
    const auto answer = nlohmann::json::parse(r.body);
    for (const auto& t : answer["traces"]) ids.push_back(t["traceID"]);
    return ids;
  };
  const std::string sample = Hex(Id(16, 1)), other = Hex(Id(16, 61));
  EXPECT_EQ(search(""), (std::vector<std::string>{other, sample}));  // newest first
  EXPECT_EQ(search("tags=service.name%3Dcheckout"), std::vector<std::string>{other});
  EXPECT_EQ(search("tags=name%3D%22GET+%2Fcart%22+http.method%3DGET"), (std::vector<std::string>{other, sample}));
  EXPECT_EQ(search("tags=status.code%3Derror+service.name%3Dfrontend"), std::vector<std::string>{sample});
  EXPECT_EQ(search("tags=http.method%3DPOST"), std::vector<std::string>{});
  EXPECT_EQ(search("minDuration=1s"), std::vector<std::string>{other});  // the other lasts 2 s
  EXPECT_EQ(search("maxDuration=1ms"), std::vector<std::string>{sample});
  EXPECT_EQ(search("limit=1"), std::vector<std::string>{other});
  EXPECT_EQ(search(fmt::format("start={}&end={}", kT0 / 1000000000 + 30, kT0 / 1000000000 + 90)),
            std::vector<std::string>{other});

  auto r = Get("a", "/tempo/api/search?tags=service.name%3Dfrontend");
  auto t = nlohmann::json::parse(r.body)["traces"][0];
  EXPECT_EQ(t["rootServiceName"], "frontend");
  EXPECT_EQ(t["rootTraceName"], "render");  // the span without a parent
  EXPECT_EQ(t["startTimeUnixNano"], std::to_string(kT0));
  EXPECT_EQ(t["durationMs"], 0);
  EXPECT_EQ(Get("a", "/tempo/api/search?minDuration=soon").status, 400);
  EXPECT_EQ(Get("a", "/tempo/api/search?tags=broken").status, 400);
}

// A query parameter's value, percent-encoded as a browser sends it.
std::string UrlEncoded(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// TraceQL (q=), as Grafana's search builder sends it: which traces, and their spansets.
TEST_F(TempoApiTest, SearchWithTraceQl) {
  auto search = [&](const std::string& traceql, const std::string& more = "") {
    auto r = Get("a", "/tempo/api/search?q=" + UrlEncoded(traceql) + more);
    EXPECT_EQ(r.status, 200) << traceql << ": " << r.body;
    std::vector<std::string> ids;
    const auto answer = nlohmann::json::parse(r.body);  // kept: a range-for over a temporary's member dangles
    for (const auto& t : answer["traces"]) ids.push_back(t["traceID"]);
    return ids;
  };
  const std::string sample = Hex(Id(16, 1)), other = Hex(Id(16, 61));
  const std::vector<std::string> both{other, sample}, none{};
  EXPECT_EQ(search("{}"), both);
  EXPECT_EQ(search("{resource.service.name=\"checkout\"}"), std::vector<std::string>{other});
  EXPECT_EQ(search("{.service.name = \"frontend\"}"), std::vector<std::string>{sample});
  EXPECT_EQ(search("{span.http.status_code >= 500 && status = error}"), both);
  EXPECT_EQ(search("{.http.status_code = 500}"), both);
  EXPECT_EQ(search("{.http.status_code = 404}"), none);
  EXPECT_EQ(search("{duration > 1s}"), std::vector<std::string>{other});
  EXPECT_EQ(search("{kind = internal && duration >= 2s}"), std::vector<std::string>{other});
  EXPECT_EQ(search("{name =~ \"GET.*\" && kind = server}"), both);
  EXPECT_EQ(search("{name =~ \"GET\"}"), none);  // the whole value
  EXPECT_EQ(search("{name !~ \"GET.*\" && name != \"render\"}"), none);
  EXPECT_EQ(search("{span.http.method != nil}"), both);
  EXPECT_EQ(search("{span.nothing != nil}"), none);
  // A span of each spanset (&&): the server span is not the two-second one in the sample trace.
  EXPECT_EQ(search("{.service.name = \"frontend\"} && {duration > 1s}"), none);
  EXPECT_EQ(search("{kind = server} && {duration > 1s}"), std::vector<std::string>{other});
  EXPECT_EQ(search("{.service.name = \"frontend\"} || {duration > 1s}"), both);
  EXPECT_EQ(search("{}", "&limit=1"), std::vector<std::string>{other});

  // Each trace comes with its matched spans (at most spss, default 3), as Tempo's spanSet.
  auto r = Get("a", "/tempo/api/search?q=" + UrlEncoded("{kind = server}") + "&tags=ignored%3Dyes");
  ASSERT_EQ(r.status, 200) << r.body;
  auto t = nlohmann::json::parse(r.body)["traces"][1];
  EXPECT_EQ(t["traceID"], sample);
  ASSERT_EQ(t["spanSet"]["spans"].size(), 1u) << t;
  EXPECT_EQ(t["spanSet"]["matched"], 1);
  const auto& span = t["spanSet"]["spans"][0];
  EXPECT_EQ(span["spanID"], Hex(Id(8, 101)));
  EXPECT_EQ(span["name"], "GET /cart");
  EXPECT_EQ(span["startTimeUnixNano"], std::to_string(kT0));
  EXPECT_EQ(span["durationNanos"], "1500");
  EXPECT_EQ(span["attributes"][0]["value"]["stringValue"], "frontend");
  EXPECT_EQ(t["spanSets"][0], t["spanSet"]);
  r = Get("a", "/tempo/api/search?q=%7B%7D&spss=1");
  t = nlohmann::json::parse(r.body)["traces"][1];
  EXPECT_EQ(t["spanSet"]["spans"].size(), 1u);
  EXPECT_EQ(t["spanSet"]["matched"], 2);
  EXPECT_EQ(t["spanSet"]["spans"][0]["spanID"], Hex(Id(8, 101)));  // the first to start

  // Tenant b does not see a's checkout trace, whatever the query.
  r = Get("b", "/tempo/api/search?q=" + UrlEncoded("{} || {resource.service.name=\"checkout\"}"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["traces"].size(), 1u);

  // Outside the subset, or a bad regular expression: 400 naming it.
  r = Get("a", "/tempo/api/search?q=" + UrlEncoded("{.a=1} | count() > 1"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, ::testing::HasSubstr("pipelines"));
  r = Get("a", "/tempo/api/search?q=" + UrlEncoded("{name =~ \"(\"}"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Get("a", "/tempo/api/search?q=%7B%7D&spss=0").status, 400);
}

TEST_F(TempoApiTest, TagNamesAndValues) {
  auto names = nlohmann::json::parse(Get("a", "/tempo/api/search/tags").body)["tagNames"];
  for (const char* name : {"service.name", "name", "status.code", "http.method", "http.status_code"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  auto values = nlohmann::json::parse(Get("a", "/tempo/api/search/tag/service.name/values").body)["tagValues"];
  EXPECT_EQ(values, (nlohmann::json{"checkout", "frontend"}));
  values = nlohmann::json::parse(Get("a", "/tempo/api/search/tag/http.method/values").body)["tagValues"];
  EXPECT_EQ(values, (nlohmann::json{"GET"}));
  values = nlohmann::json::parse(Get("b", "/tempo/api/search/tag/service.name/values").body)["tagValues"];
  EXPECT_EQ(values, (nlohmann::json{"frontend"}));  // b never sent checkout

  auto scopes = nlohmann::json::parse(Get("a", "/tempo/api/v2/search/tags").body)["scopes"];
  ASSERT_EQ(scopes.size(), 3u);
  EXPECT_EQ(scopes[0]["name"], "resource");
  EXPECT_EQ(scopes[0]["tags"], (nlohmann::json{"service.name"}));
  EXPECT_EQ(scopes[1]["name"], "span");
  EXPECT_EQ(scopes[1]["tags"], (nlohmann::json{"http.method", "http.status_code"}));
  auto typed =
      nlohmann::json::parse(Get("a", "/tempo/api/v2/search/tag/resource.service.name/values").body)["tagValues"];
  EXPECT_EQ(typed[0], (nlohmann::json{{"type", "string"}, {"value", "checkout"}}));
  typed = nlohmann::json::parse(Get("a", "/tempo/api/v2/search/tag/status/values").body)["tagValues"];
  EXPECT_EQ(typed,
            (nlohmann::json{{{"type", "keyword"}, {"value", "error"}}, {{"type", "keyword"}, {"value", "unset"}}}));
  EXPECT_EQ(Get("a", "/tempo/api/echo").body, "echo");
}

}  // namespace
}  // namespace openwit::search
