// The Loki API of the search role (search/loki_api.h) over lake files written as storage writes
// them, from logs converted as ingest converts them, read by a real QueryEngine: Loki's answers
// for streams, filters, labels, series, metric queries and the health check, each tenant seeing
// only its own logs.

#include "search/loki_api.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arrow_convert_test_util.h"
#include "ingest/arrow_convert.h"
#include "search/query_engine.h"
#include "storage/parquet_writer.h"
#include "test_lake.h"

namespace openwit::search {
namespace {

namespace logs = opentelemetry::proto::logs::v1;
using ingest::arrow_test::kT0;
using ingest::arrow_test::StrAttr;
using nlohmann::json;

constexpr int64_t kSecond = 1000000000;

struct Line {
  int64_t offset_ns;
  std::string severity_text;
  int severity_number;
  std::string body;
  std::vector<std::pair<std::string, std::string>> attributes;
};

logs::ResourceLogs Resource(const std::vector<std::pair<std::string, std::string>>& attributes,
                            const std::vector<Line>& lines) {
  logs::ResourceLogs r;
  for (const auto& [k, v] : attributes) StrAttr(r.mutable_resource()->mutable_attributes(), k, v);
  auto* scope = r.add_scope_logs();
  for (const auto& line : lines) {
    auto* rec = scope->add_log_records();
    rec->set_time_unix_nano(kT0 + line.offset_ns);
    rec->set_severity_text(line.severity_text);
    rec->set_severity_number(static_cast<logs::SeverityNumber>(line.severity_number));
    rec->mutable_body()->set_string_value(line.body);
    for (const auto& [k, v] : line.attributes) StrAttr(rec->mutable_attributes(), k, v);
  }
  return r;
}

// A stream's values: [["<Unix ns>", "<line>"], ...].
json Values(const std::vector<std::pair<int64_t, std::string>>& lines) {
  json values = json::array();
  for (const auto& [ns, line] : lines) values.push_back(json::array({std::to_string(ns), line}));
  return values;
}

std::string Encode(const std::string& text) {
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

// Tenant a: checkout (three lines in its first second, on pod-1) and frontend (at 30 s and 90 s);
// tenant b: one secret line of its own service.
class LokiApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() / fmt::format("openwit-loki-{}-{}", ::getpid(), test->name());
    std::filesystem::remove_all(dir_);
    lake_ = storage::TestLake::Open(dir_);
    AddFile("a",
            {Resource({{"service.name", "checkout"}, {"k8s.pod.name", "pod-1"}},
                      {{0, "ERROR", 17, "payment failed: card declined", {{"http.route", "/pay"}, {"status", "500"}}},
                       {1, "INFO", 9, "payment ok", {{"http.route", "/pay"}, {"status", "200"}}},
                       {2, "", 9, "cart viewed", {{"http.route", "/cart"}}}}),
             Resource({{"service.name", "frontend"}}, {{30 * kSecond, "WARN", 13, "GET / took 12ms", {}},
                                                       {90 * kSecond, "error", 0, "GET /cart failed", {}}})});
    AddFile("b", {Resource({{"service.name", "secret-svc"}}, {{5, "INFO", 9, "b's secret line", {}}})});
    QueryEngineOptions options;
    options.metastore = lake_.metastore.get();
    options.lake_uri_root = lake_.store->uri_root();
    options.schemas["logs"] = ingest::SchemaFor(ingest::Signal::kLogs);
    options.scratch_dir = (dir_ / "scratch").string();
    engine_ = QueryEngine::Open(std::move(options)).ValueOrDie();
    routes_ = LokiRoutes(engine_.get());
  }

  void TearDown() override {
    engine_.reset();
    lake_.metastore.reset();
    std::filesystem::remove_all(dir_);
  }

  void AddFile(const std::string& tenant, const std::vector<logs::ResourceLogs>& resources) {
    ingest::ArrowConverter converter(ingest::Signal::kLogs);
    for (const auto& r : resources) ASSERT_TRUE(converter.Append(r).ok());
    auto batch = converter.Finish().ValueOrDie();
    const std::string key = fmt::format("tenant={}/signal=logs/date=2023-11-14/hour=22/{}.parquet", tenant, tenant);
    const std::string path = lake_.dir + "/" + key;
    ASSERT_TRUE(storage::WriteStableParquet({batch}, batch->schema(), path).ok());
    storage::LakeFile file;
    file.uri = lake_.store->Uri(key);
    file.tenant = tenant;
    file.signal = "logs";
    file.min_time_ns = kT0;
    file.max_time_ns = kT0 + 90 * kSecond;
    file.row_count = batch->num_rows();
    file.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    file.created_at_ns = 1;
    ASSERT_TRUE(lake_.metastore->AddFiles({file}).ok());
  }

  HttpResponse Request(const std::string& tenant, const std::string& method, const std::string& target,
                       const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.path = target.substr(0, target.find('?'));
    request.body = body;
    const SearchRoute* best = nullptr;
    for (const auto& route : routes_) {
      if (route.method != method) continue;
      const bool prefix = route.path.size() > 2 && route.path.substr(route.path.size() - 2) == "/*";
      const std::string stem = prefix ? route.path.substr(0, route.path.size() - 1) : route.path;
      if (prefix ? request.path.rfind(stem, 0) == 0 : request.path == route.path) {
        best = &route;
        if (!prefix) break;
      }
    }
    if (best == nullptr) return HttpResponse::Text(404, "no route");
    return best->handle(tenant, request);
  }

  // GET as the tenant: status and JSON body.
  std::pair<int, json> Get(const std::string& tenant, const std::string& target) {
    HttpResponse r = Request(tenant, "GET", target);
    EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u) << target;
    return {r.status, json::parse(r.body, nullptr, /*allow_exceptions=*/false)};
  }

  // query_range of a log query over the lake's minutes: the streams.
  json Streams(const std::string& query, const std::string& tenant = "a", const std::string& extra = "") {
    auto [status, body] = Get(tenant, fmt::format("/loki/api/v1/query_range?query={}&start={}&end={}{}", Encode(query),
                                                  kT0 - kSecond, kT0 + 600 * kSecond, extra));
    EXPECT_EQ(status, 200) << query << ": " << body.dump();
    EXPECT_EQ(body["status"], "success");
    EXPECT_EQ(body["data"]["resultType"], "streams");
    return body["data"]["result"];
  }

  // The lines of every stream, in the answer's order.
  std::vector<std::string> Lines(const std::string& query, const std::string& tenant = "a") {
    std::vector<std::string> lines;
    for (const auto& stream : Streams(query, tenant)) {
      for (const auto& v : stream["values"]) lines.push_back(v[1]);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  std::string BadRequest(const std::string& target) {
    auto [status, body] = Get("a", target);
    EXPECT_EQ(status, 400) << target << ": " << body.dump();
    EXPECT_EQ(body["status"], "error") << target;
    return body.value("message", "");
  }

  std::filesystem::path dir_;
  storage::TestLake lake_;
  std::unique_ptr<QueryEngine> engine_;
  std::vector<SearchRoute> routes_;
};

TEST_F(LokiApiTest, QueryRangeAnswersStreams) {
  json streams = Streams(R"({service_name="checkout"})");
  ASSERT_EQ(streams.size(), 2u) << streams.dump();  // by level: error, info
  // Newest first (backward), the error line last, in its own stream.
  EXPECT_EQ(streams[0]["stream"], (json{{"service_name", "checkout"}, {"level", "info"}, {"k8s_pod_name", "pod-1"}}));
  EXPECT_EQ(streams[0]["values"], Values({{kT0 + 2, "cart viewed"}, {kT0 + 1, "payment ok"}}));
  EXPECT_EQ(streams[1]["stream"]["level"], "error");
  EXPECT_EQ(streams[1]["values"], Values({{kT0, "payment failed: card declined"}}));

  // forward, and the limit counts lines across streams.
  json forward = Streams(R"({service_name="checkout"})", "a", "&direction=forward&limit=2");
  ASSERT_EQ(forward.size(), 2u);
  EXPECT_EQ(forward[0]["values"], Values({{kT0, "payment failed: card declined"}}));
  EXPECT_EQ(forward[1]["values"], Values({{kT0 + 1, "payment ok"}}));

  // start inclusive, end exclusive, in any of Loki's time formats.
  auto [status, body] = Get("a", fmt::format("/loki/api/v1/query_range?query={}&start={}&end={}",
                                             Encode(R"({service_name=~".+"})"), kT0 + 1, "2023-11-14T22:13:51Z"));
  ASSERT_EQ(status, 200) << body.dump();
  int lines = 0;
  for (const auto& s : body["data"]["result"]) lines += static_cast<int>(s["values"].size());
  EXPECT_EQ(lines, 3);  // payment ok, cart viewed, GET / took 12ms
  EXPECT_TRUE(body["data"]["stats"].contains("summary"));

  // POST with a form body, as Loki takes it.
  HttpResponse posted = Request(
      "a", "POST", "/loki/api/v1/query_range",
      fmt::format("query={}&start={}&end={}&limit=1", Encode(R"({level="warn"})"), kT0 - kSecond, kT0 + 600 * kSecond));
  ASSERT_EQ(posted.status, 200) << posted.body;
  EXPECT_EQ(json::parse(posted.body)["data"]["result"][0]["values"][0][1], "GET / took 12ms");
}

TEST_F(LokiApiTest, MatchersAndFilters) {
  using V = std::vector<std::string>;
  // The severity: case-insensitive, SeverityNumber when the text is empty.
  EXPECT_EQ(Lines(R"({level="ERROR"})"), (V{"GET /cart failed", "payment failed: card declined"}));
  EXPECT_EQ(Lines(R"({detected_level=~"err.*|warn"})"),
            (V{"GET / took 12ms", "GET /cart failed", "payment failed: card declined"}));
  EXPECT_EQ(Lines(R"({service_name="checkout", level="info"})"), (V{"cart viewed", "payment ok"}));
  EXPECT_EQ(Lines(R"({service_name!="checkout", service_name=~"front.*"})"),
            (V{"GET / took 12ms", "GET /cart failed"}));
  // A resource attribute by its Loki name; an absent one is "".
  EXPECT_EQ(Lines(R"({k8s_pod_name="pod-1"} !~ "pay.*")"), (V{"cart viewed"}));
  EXPECT_EQ(Lines(R"({service_name=~".+", k8s_pod_name=""})"), (V{"GET / took 12ms", "GET /cart failed"}));
  EXPECT_EQ(Lines(R"({service_name=~"fr.*"} !~ "pay.*")").size(), 2u);
  // Anchored: "front" does not match frontend.
  EXPECT_TRUE(Lines(R"({service_name=~"front"})").empty());
  // Line filters, chained.
  EXPECT_EQ(Lines(R"({service_name=~".+"} |= "payment" != "ok")"), (V{"payment failed: card declined"}));
  EXPECT_EQ(Lines(R"({service_name=~".+"} |~ "GET .* failed")"), (V{"GET /cart failed"}));
  // Attribute filters: the log's attributes, then the resource's.
  EXPECT_EQ(Lines(R"({service_name="checkout"} | http_route="/pay")"),
            (V{"payment failed: card declined", "payment ok"}));
  EXPECT_EQ(Lines(R"({service_name="checkout"} | status >= 500)"), (V{"payment failed: card declined"}));
  EXPECT_EQ(Lines(R"({service_name="checkout"} | http_route=~"/c.*" | k8s_pod_name="pod-1")"), (V{"cart viewed"}));
  EXPECT_EQ(Lines(R"({service_name="checkout"} | http_route!="/pay")"), (V{"cart viewed"}));
  // drop leaves a label out of the stream.
  json dropped = Streams(R"({service_name="frontend"} | drop level)");
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0]["stream"], (json{{"service_name", "frontend"}}));
}

TEST_F(LokiApiTest, LabelsValuesAndSeries) {
  const std::string range = fmt::format("start={}&end={}", kT0 - kSecond, kT0 + 600 * kSecond);
  auto [status, labels] = Get("a", "/loki/api/v1/labels?" + range);
  ASSERT_EQ(status, 200) << labels.dump();
  EXPECT_EQ(labels, (json{{"status", "success"}, {"data", {"k8s_pod_name", "level", "service_name"}}}));
  EXPECT_EQ(Get("b", "/loki/api/v1/labels?" + range).second["data"], (json{"level", "service_name"}));

  EXPECT_EQ(Get("a", "/loki/api/v1/label/service_name/values?" + range).second["data"], (json{"checkout", "frontend"}));
  EXPECT_EQ(Get("a", "/loki/api/v1/label/level/values?" + range).second["data"], (json{"error", "info", "warn"}));
  EXPECT_EQ(Get("a", "/loki/api/v1/label/k8s_pod_name/values?" + range).second["data"], (json{"pod-1"}));
  EXPECT_EQ(Get("a", fmt::format("/loki/api/v1/label/level/values?{}&query={}", range,
                                 Encode(R"({service_name="frontend"})")))
                .second["data"],
            (json{"error", "warn"}));
  EXPECT_EQ(Get("b", "/loki/api/v1/label/service_name/values?" + range).second["data"], (json{"secret-svc"}));

  auto series = Get("a", fmt::format("/loki/api/v1/series?{}&match[]={}&match%5B%5D={}", range,
                                     Encode(R"({service_name="frontend", level="warn"})"),
                                     Encode(R"({k8s_pod_name="pod-1", level="error"})")))
                    .second;
  EXPECT_EQ(series["data"], (json{{{"k8s_pod_name", "pod-1"}, {"level", "error"}, {"service_name", "checkout"}},
                                  {{"level", "warn"}, {"service_name", "frontend"}}}))
      << series.dump();
  // Before the logs: nothing.
  EXPECT_EQ(Get("a", fmt::format("/loki/api/v1/labels?start={}&end={}", kT0 - 100 * kSecond, kT0 - 50 * kSecond))
                .second["data"],
            json::array());
}

TEST_F(LokiApiTest, MetricQueriesAnswerMatrixAndVector) {
  // Steps of a minute from kT0 - 1 ns: t0 = kT0 - 1 counts nothing, t1 = kT0 + 60 s - 1 the three
  // checkout lines and the warning, t2 = kT0 + 120 s - 1 the frontend error.
  const int64_t start = kT0 - 1;
  auto matrix = [&](const std::string& query) {
    auto [status, body] = Get("a", fmt::format("/loki/api/v1/query_range?query={}&start={}&end={}&step=60s",
                                               Encode(query), start, start + 120 * kSecond));
    EXPECT_EQ(status, 200) << query << ": " << body.dump();
    EXPECT_EQ(body["data"]["resultType"], "matrix") << query;
    return body["data"]["result"];
  };
  const double t1 = static_cast<double>((start + 60 * kSecond) / 1000000) / 1000.0;
  const double t2 = static_cast<double>((start + 120 * kSecond) / 1000000) / 1000.0;
  EXPECT_EQ(matrix(R"(sum(count_over_time({service_name=~".+"}[1m])))"),
            (json{{{"metric", json::object()}, {"values", {{t1, "4"}, {t2, "1"}}}}}));
  EXPECT_EQ(matrix(R"(sum by (level) (count_over_time({service_name=~".+"} | drop __error__ [1m])))"),
            (json{{{"metric", {{"level", "error"}}}, {"values", {{t1, "1"}, {t2, "1"}}}},
                  {{"metric", {{"level", "info"}}}, {"values", {{t1, "2"}}}},
                  {{"metric", {{"level", "warn"}}}, {"values", {{t1, "1"}}}}}));
  // A window longer than the step counts a line at every step it covers.
  EXPECT_EQ(matrix(R"(sum by (service_name) (count_over_time({service_name="frontend"}[2m])))"),
            (json{{{"metric", {{"service_name", "frontend"}}}, {"values", {{t1, "1"}, {t2, "2"}}}}}));
  // Without sum: a series per stream; rate per second.
  json per_stream = matrix(R"(rate({service_name="checkout"}[1m]))");
  ASSERT_EQ(per_stream.size(), 2u) << per_stream.dump();
  EXPECT_EQ(per_stream[0]["metric"],
            (json{{"k8s_pod_name", "pod-1"}, {"level", "error"}, {"service_name", "checkout"}}));
  EXPECT_EQ(per_stream[0]["values"], (json{{t1, fmt::format("{}", 1.0 / 60)}}));
  EXPECT_EQ(matrix(R"(sum(count_over_time({service_name=~".+"}[1m])) * 2)")[0]["values"], (json{{t1, "8"}, {t2, "2"}}));

  // The instant query: the vector at `time`.
  auto [status, vector] = Get(
      "a", fmt::format("/loki/api/v1/query?query={}&time={}",
                       Encode(R"(sum by (level) (count_over_time({service_name=~".+"}[10m])))"), kT0 + 300 * kSecond));
  ASSERT_EQ(status, 200) << vector.dump();
  EXPECT_EQ(vector["data"]["resultType"], "vector");
  const double t = static_cast<double>((kT0 + 300 * kSecond) / 1000000) / 1000.0;
  EXPECT_EQ(vector["data"]["result"], (json{{{"metric", {{"level", "error"}}}, {"value", {t, "2"}}},
                                            {{"metric", {{"level", "info"}}}, {"value", {t, "2"}}},
                                            {{"metric", {{"level", "warn"}}}, {"value", {t, "1"}}}}));
  EXPECT_NE(BadRequest("/loki/api/v1/query?query=" + Encode(R"({service_name="x"})")).find("instant"),
            std::string::npos);
  EXPECT_NE(BadRequest(fmt::format("/loki/api/v1/query_range?query={}&start={}&end={}&step=1ms",
                                   Encode(R"(count_over_time({a="b"}[1m]))"), kT0 - 60 * kSecond, kT0))
                .find("maximum resolution"),
            std::string::npos);
}

TEST_F(LokiApiTest, HealthCheckAnswersTwo) {
  // What Grafana's data source sends (pkg/tsdb/loki/healthcheck.go): an instant query at
  // time.Unix(4, 0).UnixNano(), ten digits, which Loki (and so OpenWit) reads as Unix seconds.
  auto [status, body] =
      Get("c", "/loki/api/v1/query?query=vector%281%29%2Bvector%281%29&time=4000000000&direction=backward");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["data"]["resultType"], "vector");
  EXPECT_EQ(body["data"]["result"], (json{{{"metric", json::object()}, {"value", {4000000000.0, "2"}}}}));
}

TEST_F(LokiApiTest, UnsupportedAndInvalidAre400) {
  const std::string range = fmt::format("&start={}&end={}", kT0, kT0 + kSecond);
  std::string message = BadRequest("/loki/api/v1/query_range?query=" + Encode(R"({service_name="x"} | json)") + range);
  EXPECT_NE(message.find("parse error at line 1, col 22: json is not supported"), std::string::npos) << message;
  // An invalid regex, named with its position (DuckDB's RE2 refuses it).
  message = BadRequest("/loki/api/v1/query_range?query=" + Encode(R"({service_name=~".+"} |~ "(unclosed")") + range);
  EXPECT_NE(message.find("parse error at line 1, col 25: invalid regex \"(unclosed\""), std::string::npos) << message;
  message = BadRequest("/loki/api/v1/query_range?query=" + Encode(R"({service_name=~"["})") + range);
  EXPECT_NE(message.find("col 16: invalid regex"), std::string::npos) << message;
  EXPECT_NE(BadRequest("/loki/api/v1/query_range?start=1").find("\"query\""), std::string::npos);
  EXPECT_NE(BadRequest("/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&start=yesterday").find("start"),
            std::string::npos);
  EXPECT_NE(BadRequest("/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&direction=sideways").find("direction"),
            std::string::npos);
  EXPECT_NE(BadRequest("/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&limit=-1").find("limit"), std::string::npos);
  EXPECT_NE(BadRequest("/loki/api/v1/series?match[]=" + Encode("sum(")).find("parse error"), std::string::npos);
}

TEST_F(LokiApiTest, TenantsNeverSeeEachOther) {
  EXPECT_EQ(Lines(R"({service_name=~".+"})", "b"), (std::vector<std::string>{"b's secret line"}));
  EXPECT_TRUE(Lines(R"({service_name="checkout"})", "b").empty());
  EXPECT_TRUE(Lines(R"({service_name="secret-svc"})", "a").empty());
  EXPECT_TRUE(Lines(R"({service_name=~".+"} |= "secret")", "a").empty());
  EXPECT_TRUE(Lines(R"({service_name=~".+"})", "c").empty());
  auto [status, body] =
      Get("b", fmt::format("/loki/api/v1/query?query={}&time={}",
                           Encode(R"(sum(count_over_time({service_name=~".+"}[1h])))"), kT0 + 600 * kSecond));
  ASSERT_EQ(status, 200);
  EXPECT_EQ(body["data"]["result"][0]["value"][1], "1");
}

TEST(LokiTime, AsLokiReadsIt) {
  EXPECT_EQ(*ParseLokiTime("1700000000"), 1700000000 * kSecond);
  EXPECT_EQ(*ParseLokiTime("1700000000123456789"), 1700000000123456789);
  EXPECT_EQ(*ParseLokiTime("1700000000.5"), 1700000000 * kSecond + 500000000);
  EXPECT_EQ(*ParseLokiTime("2023-11-14T22:13:20.123456789Z"), kT0);
  EXPECT_FALSE(ParseLokiTime("now").ok());
  EXPECT_FALSE(ParseLokiTime("-5").ok());
  EXPECT_FALSE(ParseLokiTime("9999999999").ok());  // past what a range may be added to
  EXPECT_FALSE(ParseLokiTime("9223372036854775807").ok());
  EXPECT_FALSE(ParseLokiTime("9999999999.5").ok());
}

}  // namespace
}  // namespace openwit::search
