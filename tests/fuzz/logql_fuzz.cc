// LogQL (search/logql.h), as Grafana's Loki data source sends it to /loki/api/v1/query_range
// (search/loki_api.h): the text through logql::Parse and SelectorSql, then the whole endpoint for
// tenant "a" through a real QueryEngine over a lake that also holds a file of tenant "b". Beside
// "no crash" (the parser's depth is bounded: no stack overflow from nesting): every refusal is
// "parse error at line L, col C: ..." at a position inside the text; the endpoint answers 200 or
// a 4xx/408/422/503 in Loki's error shape, never 500 (the SQL we generate is always valid SQL);
// nothing of tenant b's file (a token made at start-up, unknown to the fuzzer) reaches tenant a.
//
// Input: the LogQL text. The lake: fuzz_lake.h.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz_lake.h"
#include "fuzz_support.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "search/logql.h"
#include "search/loki_api.h"
#include "search/query_engine.h"

namespace openwit::fuzz {
namespace {

using opentelemetry::proto::logs::v1::ResourceLogs;

struct Lake : FuzzLake {
  std::vector<search::SearchRoute> routes;
};

Lake& TheLake() {
  static Lake lake;
  return lake;
}

constexpr int64_t kT0 = kFuzzLakeT0;

// A logs file of `tenant`: one resource (service checkout-<tenant>, a pod attribute), records
// with these bodies and severities a second apart.
void AddLogsFile(Lake& lake, const std::string& tenant, const std::vector<std::string>& bodies) {
  ResourceLogs resource;
  auto* service = resource.mutable_resource()->add_attributes();
  service->set_key("service.name");
  service->mutable_value()->set_string_value("checkout-" + tenant);
  auto* pod = resource.mutable_resource()->add_attributes();
  pod->set_key("k8s.pod.name");
  pod->mutable_value()->set_string_value("pod-" + tenant);
  auto* scope = resource.add_scope_logs();
  static const char* kLevels[] = {"INFO", "ERROR", ""};
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto* record = scope->add_log_records();
    record->set_time_unix_nano(static_cast<uint64_t>(kT0) + i * 1000000000);
    record->set_severity_text(kLevels[i % 3]);
    record->set_severity_number(opentelemetry::proto::logs::v1::SEVERITY_NUMBER_WARN);
    record->mutable_body()->set_string_value(bodies[i]);
    auto* route = record->add_attributes();
    route->set_key("http.route");
    route->mutable_value()->set_string_value(i % 2 ? "/pay" : "/cart");
  }
  lake.AddLogsFile(tenant, resource, kT0 + static_cast<int64_t>(bodies.size()) * 1000000000);
}

void OpenLake() {
  Lake& lake = TheLake();
  lake.Open("logql");
  AddLogsFile(lake, "a", {"payment failed: card declined", "payment ok", "GET /cart took 12ms"});
  AddLogsFile(lake, "b", {lake.secret});
  lake.OpenEngine();
  lake.routes = search::LokiRoutes(lake.engine.get());
}

std::string Encoded(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace openwit::fuzz;
  InitializeTarget();
  OpenLake();
  std::atexit([] {
    TheLake().routes.clear();
    TheLake().Close();
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  namespace search = openwit::search;
  namespace logql = openwit::search::logql;
  Lake& lake = TheLake();
  const std::string_view text = AsText(data, size);
  if (text.find(lake.secret) != std::string_view::npos) return -1;  // an error may quote the text
  auto query = logql::Parse(text);
  if (!query.ok()) {
    const std::string& message = query.status().message();
    int line = 0, column = 0;
    FUZZ_EXPECT(query.status().IsInvalid() &&
                    std::sscanf(message.c_str(), "parse error at line %d, col %d:", &line, &column) == 2,
                "a refusal without its position: {}", query.status().ToString());
    const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    FUZZ_EXPECT(line >= 1 && line <= lines && column >= 1 && static_cast<size_t>(column) <= text.size() + 1,
                "a position outside the text: {}", message);
    return 0;
  }
  if (!query->metric) (void)logql::SelectorSql(query->log);

  // The endpoint, for tenant a: the file's minute, a step of 10 s.
  openwit::HttpRequest request;
  request.method = "GET";
  request.path = "/loki/api/v1/query_range";
  request.target = fmt::format("{}?query={}&start={}&end={}&step=10s&limit=50", request.path, Encoded(text),
                               kT0 - 1000000000, kT0 + 60000000000);
  const search::SearchRoute* route = nullptr;
  for (const auto& r : lake.routes) {
    if (r.method == "GET" && r.path == request.path) route = &r;
  }
  FUZZ_EXPECT(route != nullptr, "no query_range route");
  const openwit::HttpResponse response = route->handle("a", request);
  FUZZ_EXPECT(response.status == 200 || response.status == 400 || response.status == 408 || response.status == 422 ||
                  response.status == 503,
              "status {} for {}: {}", response.status, text, response.body);
  FUZZ_EXPECT(response.body.find(lake.secret) == std::string::npos, "tenant b's record in tenant a's answer: {}",
              response.body);
  const auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_EXPECT(body.is_object() && body.contains("status"), "an answer that is not Loki's JSON: {}", response.body);
  return 0;
}
