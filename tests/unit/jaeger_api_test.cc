// The Jaeger API of the search role (search/jaeger_api.h) over lake files written as storage writes
// them, from spans converted as ingest converts them: a trace comes back in Jaeger's JSON model as
// OpenTelemetry's Jaeger translator would write the OTLP that went in.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "search/compat_api.h"
#include "search/jaeger_api.h"
#include "search/trace_view.h"
#include "span_lake_fixture.h"

namespace openwit::search {
namespace {

namespace trace = opentelemetry::proto::trace::v1;
using ingest::arrow_test::Id;
using ingest::arrow_test::kT0;
using ingest::arrow_test::StrAttr;
using nlohmann::json;

constexpr int64_t kSecond = 1000000000;

class JaegerApiTest : public SpanLakeTest {
 protected:
  std::vector<SearchRoute> Routes(QueryEngine* engine) override { return JaegerRoutes(engine); }

  void SetUp() override {
    SpanLakeTest::SetUp();
    // A third trace of tenant a, 30 s in, across two services: frontend's GET /pay calls
    // payments' charge, which also links to its parent.
    trace::ResourceSpans frontend, payments;
    StrAttr(frontend.mutable_resource()->mutable_attributes(), "service.name", "frontend");
    trace::Span* root = frontend.add_scope_spans()->add_spans();
    root->set_trace_id(Id(16, 71));
    root->set_span_id(Id(8, 171));
    root->set_name("GET /pay");
    root->set_kind(trace::Span::SPAN_KIND_SERVER);
    root->set_start_time_unix_nano(kT0 + 30 * kSecond);
    root->set_end_time_unix_nano(kT0 + 30 * kSecond + 5000000);
    StrAttr(payments.mutable_resource()->mutable_attributes(), "service.name", "payments");
    StrAttr(payments.mutable_resource()->mutable_attributes(), "host.name", "h1");
    trace::Span* charge = payments.add_scope_spans()->add_spans();
    charge->set_trace_id(Id(16, 71));
    charge->set_span_id(Id(8, 172));
    charge->set_parent_span_id(Id(8, 171));
    charge->set_name("charge");
    charge->set_kind(trace::Span::SPAN_KIND_CLIENT);
    charge->set_start_time_unix_nano(kT0 + 30 * kSecond + 1000000);
    charge->set_end_time_unix_nano(kT0 + 30 * kSecond + 3000000);
    charge->mutable_status()->set_code(trace::Status::STATUS_CODE_OK);
    trace::Span::Link* link = charge->add_links();
    link->set_trace_id(Id(16, 71));
    link->set_span_id(Id(8, 171));
    AddFile("a", {frontend, payments}, "a-pay");
  }

  // GET target as the tenant: the status and the body as JSON.
  std::pair<int, json> GetJson(const std::string& tenant, const std::string& target) {
    HttpResponse r = Get(tenant, target);
    EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u) << target;
    return {r.status, json::parse(r.body, nullptr, /*allow_exceptions=*/false)};
  }

  // The trace ids that /jaeger/api/traces?query finds for the tenant.
  std::vector<std::string> Find(const std::string& query, const std::string& tenant = "a") {
    auto [status, body] = GetJson(tenant, "/jaeger/api/traces?" + query);
    EXPECT_EQ(status, 200) << query << ": " << body.dump();
    std::vector<std::string> ids;
    for (const auto& t : body["data"]) ids.push_back(t["traceID"]);
    return ids;
  }

  // The message of a 400 answer, checked to be Jaeger's error envelope.
  std::string BadRequest(const std::string& target) {
    auto [status, body] = GetJson("a", target);
    EXPECT_EQ(status, 400) << target << ": " << body.dump();
    EXPECT_TRUE(body["data"].is_null()) << target;
    EXPECT_EQ(body["errors"][0]["code"], 400) << target;
    return body["errors"][0].value("msg", "");
  }
};

json Tag(const std::string& key, const std::string& value) {
  return {{"key", key}, {"type", "string"}, {"value", value}};
}

TEST_F(JaegerApiTest, ServicesAndOperations) {
  auto [status, services] = GetJson("a", "/jaeger/api/services");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(services, (json{{"data", {"checkout", "frontend", "payments"}},
                            {"total", 3},
                            {"limit", 0},
                            {"offset", 0},
                            {"errors", nullptr}}));
  EXPECT_EQ(GetJson("b", "/jaeger/api/services").second["data"], (json{"frontend"}));  // b never sent the others
  EXPECT_EQ(GetJson("c", "/jaeger/api/services").second["data"], json::array());

  auto operations = GetJson("a", "/jaeger/api/services/frontend/operations").second;
  EXPECT_EQ(operations["data"], (json{"GET /cart", "GET /pay", "render"}));
  EXPECT_EQ(operations["total"], 3);
  EXPECT_EQ(GetJson("a", "/jaeger/api/services/no%20such/operations").second["data"], json::array());
  EXPECT_EQ(Get("a", "/jaeger/api/services/frontend/other").status, 404);

  EXPECT_EQ(GetJson("a", "/jaeger/api/operations?service=frontend").second["data"],
            (json{{{"name", "GET /cart"}, {"spanKind", "server"}},
                  {{"name", "GET /pay"}, {"spanKind", "server"}},
                  {{"name", "render"}, {"spanKind", "internal"}}}));
  EXPECT_EQ(GetJson("a", "/jaeger/api/operations?service=payments&spanKind=client").second["data"],
            (json{{{"name", "charge"}, {"spanKind", "client"}}}));
  EXPECT_EQ(GetJson("a", "/jaeger/api/operations?service=payments&spanKind=server").second["data"], json::array());
  EXPECT_NE(BadRequest("/jaeger/api/operations").find("'service'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/operations?service=frontend&spanKind=sideways").find("'spanKind'"),
            std::string::npos);
}

TEST_F(JaegerApiTest, TraceByIdIsJaegersModel) {
  HttpResponse r = Get("a", "/jaeger/api/traces/" + Hex(Id(16, 1)));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  EXPECT_TRUE(body["errors"].is_null());
  ASSERT_EQ(body["data"].size(), 1u);
  const json& t = body["data"][0];
  EXPECT_EQ(t["traceID"], Hex(Id(16, 1)));
  EXPECT_EQ(t["processes"], (json{{"p1", {{"serviceName", "frontend"}, {"tags", json::array()}}}}));
  ASSERT_EQ(t["spans"].size(), 2u);

  const json& server = t["spans"][0];
  EXPECT_EQ(server["traceID"], Hex(Id(16, 1)));
  EXPECT_EQ(server["spanID"], Hex(Id(8, 101)));
  EXPECT_EQ(server["operationName"], "GET /cart");
  // The parent, then the link (the link without ids has no place in Jaeger's model).
  EXPECT_EQ(server["references"],
            (json{{{"refType", "CHILD_OF"}, {"traceID", Hex(Id(16, 1))}, {"spanID", Hex(Id(8, 201))}},
                  {{"refType", "FOLLOWS_FROM"}, {"traceID", Hex(Id(16, 51))}, {"spanID", Hex(Id(8, 151))}}}));
  EXPECT_EQ(server["startTime"], kT0 / 1000) << "microseconds";
  EXPECT_EQ(server["duration"], 1);  // 1500 ns
  EXPECT_EQ(server["tags"], (json{Tag("otel.scope.name", "io.openwit.http"),
                                  Tag("otel.scope.version", "0.9"),
                                  Tag("http.method", "GET"),
                                  Tag("http.status_code", "500"),
                                  Tag("span.kind", "server"),
                                  Tag("otel.status_code", "ERROR"),
                                  {{"key", "error"}, {"type", "bool"}, {"value", true}},
                                  Tag("otel.status_description", "upstream timeout"),
                                  Tag("w3c.tracestate", "vendor=a")}));
  EXPECT_EQ(server["logs"],
            (json{{{"timestamp", (kT0 + 10) / 1000}, {"fields", {Tag("event", "retry"), Tag("attempt", "2")}}},
                  {{"timestamp", (kT0 + 20) / 1000},
                   {"fields", {Tag("event", "exception"), Tag("exception.type", "Timeout")}}}}));
  EXPECT_EQ(server["processID"], "p1");
  EXPECT_TRUE(server["warnings"].is_null());
  EXPECT_EQ(server["flags"], 0);

  const json& render = t["spans"][1];
  EXPECT_EQ(render["spanID"], Hex(Id(8, 102)));
  EXPECT_EQ(render["references"], json::array());  // a root
  EXPECT_EQ(render["startTime"], (kT0 + 5) / 1000);
  EXPECT_EQ(render["duration"], 0);
  EXPECT_EQ(render["tags"], (json{Tag("otel.scope.name", "io.openwit.http"), Tag("otel.scope.version", "0.9"),
                                  Tag("span.kind", "internal")}));  // status unset: no status tags
  EXPECT_EQ(render["logs"], json::array());
  EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"X-OpenWit-Truncated", "false"}}));
}

TEST_F(JaegerApiTest, OneProcessPerServiceOfATrace) {
  auto [status, body] = GetJson("a", "/jaeger/api/traces/" + Hex(Id(16, 71)));
  ASSERT_EQ(status, 200);
  const json& t = body["data"][0];
  EXPECT_EQ(t["processes"], (json{{"p1", {{"serviceName", "frontend"}, {"tags", json::array()}}},
                                  {"p2", {{"serviceName", "payments"}, {"tags", {Tag("host.name", "h1")}}}}}));
  ASSERT_EQ(t["spans"].size(), 2u);
  EXPECT_EQ(t["spans"][0]["processID"], "p1");
  EXPECT_EQ(t["spans"][1]["processID"], "p2");
  EXPECT_EQ(t["spans"][1]["duration"], 2000);
  // The link to the parent is the parent's reference, of the link's type.
  EXPECT_EQ(t["spans"][1]["references"],
            (json{{{"refType", "FOLLOWS_FROM"}, {"traceID", Hex(Id(16, 71))}, {"spanID", Hex(Id(8, 171))}}}));
  EXPECT_EQ(t["spans"][1]["tags"], (json{Tag("span.kind", "client"), Tag("otel.status_code", "OK")}));
}

TEST_F(JaegerApiTest, UnknownTraceIs404AndBadIdIs400AndTenantsStayApart) {
  auto [status, body] = GetJson("a", "/jaeger/api/traces/ffffffffffffffffffffffffffffffff");
  EXPECT_EQ(status, 404);
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["errors"], (json{{{"code", 404}, {"msg", "trace not found"}}}));
  EXPECT_NE(BadRequest("/jaeger/api/traces/nothex").find("nothex"), std::string::npos);
  // Tenant b has only the sample trace: the others of a are unknown to it.
  EXPECT_EQ(Get("b", "/jaeger/api/traces/" + Hex(Id(16, 61))).status, 404);
  EXPECT_EQ(Get("b", "/jaeger/api/traces/" + Hex(Id(16, 71))).status, 404);
  EXPECT_EQ(Get("a", "/jaeger/api/traces/" + Hex(Id(16, 61))).status, 200);
  EXPECT_EQ(Get("b", "/jaeger/api/traces/" + Hex(Id(16, 1))).status, 200);
  EXPECT_EQ(Get("c", "/jaeger/api/traces/" + Hex(Id(16, 1))).status, 404);
  // start and end (microseconds) narrow where the trace is looked for.
  const int64_t t0 = kT0 / 1000;
  EXPECT_EQ(Get("a", fmt::format("/jaeger/api/traces/{}?start={}&end={}", Hex(Id(16, 1)), t0, t0)).status, 200);
  EXPECT_EQ(Get("a", fmt::format("/jaeger/api/traces/{}?start={}", Hex(Id(16, 1)), t0 + 1)).status, 404);
}

TEST_F(JaegerApiTest, FindTraces) {
  const std::string sample = Hex(Id(16, 1)), other = Hex(Id(16, 61)), pay = Hex(Id(16, 71));
  using Ids = std::vector<std::string>;
  EXPECT_EQ(Find("service=frontend"), (Ids{pay, sample}));  // newest first
  EXPECT_EQ(Find("service=frontend&limit=1"), Ids{pay});
  EXPECT_EQ(Find("service=frontend&limit="), (Ids{pay, sample}));  // Grafana's empty fields
  EXPECT_EQ(Find("service=checkout"), Ids{other});
  EXPECT_EQ(Find("service=payments"), Ids{pay});
  EXPECT_EQ(Find("service=nobody"), Ids{});
  EXPECT_EQ(Find("service=frontend&operation=render"), Ids{sample});
  EXPECT_EQ(Find("service=frontend&operation=GET+%2Fpay"), Ids{pay});
  // Tags: attributes (of the span or its resource) and the tags the model derives from columns.
  EXPECT_EQ(Find("service=frontend&tags=%7B%22http.status_code%22%3A%22500%22%7D"), Ids{sample});
  EXPECT_EQ(Find("service=frontend&tags=%7B%22http.status_code%22%3A500%7D"), Ids{sample});  // a number
  EXPECT_EQ(Find("service=payments&tags=%7B%22host.name%22%3A%22h1%22%7D"), Ids{pay});
  EXPECT_EQ(Find("service=frontend&tags=%7B%22error%22%3A%22true%22%7D"), Ids{sample});
  EXPECT_EQ(Find("service=frontend&tags=%7B%22span.kind%22%3A%22internal%22%7D"), Ids{sample});
  EXPECT_EQ(Find("service=payments&tags=%7B%22otel.status_code%22%3A%22OK%22%7D"), Ids{pay});
  EXPECT_EQ(Find("service=frontend&tags=%7B%22otel.scope.name%22%3A%22io.openwit.http%22%7D"), Ids{sample});
  // One span meets every condition: render is internal but has no status code.
  EXPECT_EQ(Find("service=frontend&tags=%7B%22span.kind%22%3A%22internal%22%2C%22error%22%3A%22true%22%7D"), Ids{});
  // Durations are the matching span's: checkout's spans last two seconds, frontend's pay 5 ms.
  EXPECT_EQ(Find("service=checkout&minDuration=1.5s"), Ids{other});
  EXPECT_EQ(Find("service=checkout&maxDuration=1s"), Ids{});
  EXPECT_EQ(Find("service=frontend&minDuration=4ms&maxDuration=6ms"), Ids{pay});
  EXPECT_EQ(Find("service=frontend&minDuration=1us&maxDuration=2us"), Ids{sample});  // GET /cart: 1500 ns
  // start and end: Unix microseconds, of the matching span's start.
  const int64_t t0 = kT0 / 1000;
  EXPECT_EQ(Find(fmt::format("service=frontend&start={}&end={}", t0 + 20000000, t0 + 40000000)), Ids{pay});
  EXPECT_EQ(Find(fmt::format("service=frontend&start={}&end={}", t0, t0)), Ids{sample});  // end inclusive
  EXPECT_EQ(Find(fmt::format("service=checkout&end={}", t0 + 59000000)), Ids{});

  // The traces come whole: every span, every process, also of other services.
  auto [status, body] = GetJson("a", "/jaeger/api/traces?service=payments");
  ASSERT_EQ(status, 200);
  const json& t = body["data"][0];
  EXPECT_EQ(t["spans"].size(), 2u);
  EXPECT_EQ(t["processes"].size(), 2u);
  EXPECT_EQ(t, GetJson("a", "/jaeger/api/traces/" + pay).second["data"][0]);

  // Tenant b's spans never answer tenant a, nor a's b.
  EXPECT_EQ(Find("service=checkout", "b"), Ids{});
  EXPECT_EQ(Find("service=frontend", "b"), Ids{sample});
  EXPECT_EQ(Find("service=frontend", "c"), Ids{});
}

TEST_F(JaegerApiTest, BadSearchParametersAre400NamingThem) {
  EXPECT_NE(BadRequest("/jaeger/api/traces").find("'service'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&tags=notjson").find("'tags'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&tags=%5B1%5D").find("'tags'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&tags=%7B%22a%22%3A%5B%5D%7D").find("'tags'"),
            std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&minDuration=soon").find("'minDuration'"),
            std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&maxDuration=5").find("'maxDuration'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&minDuration=2s&maxDuration=1s").find("'maxDuration'"),
            std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&limit=0").find("'limit'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&limit=many").find("'limit'"), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&start=yesterday").find("\"start\""), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&end=-1").find("\"end\""), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&start=2&end=1").find("\"start\""), std::string::npos);
  EXPECT_NE(BadRequest("/jaeger/api/traces?service=frontend&tag=a%3Ab").find("'tag'"), std::string::npos);
}

TEST(JaegerParseTest, MicrosecondRangeEndIsInclusive) {
  auto range = ParseTimeRange({{"start", "1700000000123456"}, {"end", "1700000000123457"}}, 1000, "microseconds");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(*range->start_ns, 1700000000123456000);
  EXPECT_EQ(*range->end_ns, 1700000000123458000);
  EXPECT_FALSE(ParseTimeRange({{"start", "9223372036854776"}}, 1000, "microseconds").ok());  // past 2262
  EXPECT_TRUE(ParseTimeRange({{"start", "9223372036854774"}}, 1000, "microseconds").ok());
}

}  // namespace
}  // namespace openwit::search
