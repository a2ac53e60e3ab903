// The search role's SQL entry point (POST /v1/query, search/search_api.h): the request body
// through ParseQueryRequest, then QueryEngine::Run for tenant "a" over a lake that also holds a
// file of tenant "b". Beside "no crash": every error carries a QueryErrorKind, a result never
// holds more rows than asked, and nothing of tenant b's file ever reaches tenant a (its log body
// is a token made at start-up, unknown to the fuzzer; an input that names the token is skipped,
// since SELECT 'token' would echo it). DuckDB itself is not instrumented: coverage comes from our
// parsing and confinement, the SQL text from the dictionary and the seeds.
//
// Input: the JSON body of a query. The lake: fuzz_lake.h.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <fmt/format.h>

#include "fuzz_lake.h"
#include "fuzz_support.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "search/query_engine.h"
#include "search/query_error.h"
#include "search/result_format.h"
#include "search/search_api.h"

namespace openwit::fuzz {
namespace {

using opentelemetry::proto::logs::v1::ResourceLogs;

FuzzLake& TheLake() {
  static FuzzLake lake;
  return lake;
}

constexpr int64_t kT0 = kFuzzLakeT0;

// A logs file of `tenant` whose records have these bodies, in the lake and the metastore.
void AddLogsFile(FuzzLake& lake, const std::string& tenant, const std::vector<std::string>& bodies) {
  ResourceLogs resource;
  auto* service = resource.mutable_resource()->add_attributes();
  service->set_key("service.name");
  service->mutable_value()->set_string_value("checkout-" + tenant);
  auto* scope = resource.add_scope_logs();
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto* record = scope->add_log_records();
    record->set_time_unix_nano(static_cast<uint64_t>(kT0) + i * 1000);
    record->set_severity_text("INFO");
    record->mutable_body()->set_string_value(bodies[i]);
  }
  lake.AddLogsFile(tenant, resource, kT0 + static_cast<int64_t>(bodies.size()) * 1000);
}

void OpenLake() {
  FuzzLake& lake = TheLake();
  lake.Open("search");
  AddLogsFile(lake, "a", {"a-first", "a-second", "payment declined"});
  AddLogsFile(lake, "b", {lake.secret});
  lake.OpenEngine();
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace openwit::fuzz;
  InitializeTarget();
  OpenLake();
  std::atexit([] { TheLake().Close(); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  namespace search = openwit::search;
  FuzzLake& lake = TheLake();
  const std::string_view body = AsText(data, size);
  if (body.find(lake.secret) != std::string_view::npos) return -1;  // not kept in the corpus
  auto request = search::ParseQueryRequest(body);
  if (!request.ok()) {
    FUZZ_EXPECT(search::QueryErrorKindOf(request.status()) == search::QueryErrorKind::kBadQuery,
                "a request refused as other than bad_query: {}", request.status().ToString());
    return 0;
  }
  auto result = lake.engine->Run("a", *request);
  if (!result.ok()) {
    FUZZ_EXPECT(result.status().detail() != nullptr, "an error without a QueryErrorKind: {}",
                result.status().ToString());
    FUZZ_EXPECT(result.status().message().find(lake.secret) == std::string::npos,
                "tenant b's record in tenant a's error: {}", result.status().ToString());
    return 0;
  }
  const int64_t limit = request->limit > 0 ? std::min<int64_t>(request->limit, 100) : 100;
  int64_t rows = 0;
  for (const auto& batch : result->rows.batches) rows += batch->num_rows();
  FUZZ_EXPECT(rows <= limit, "{} rows for a limit of {}", rows, limit);
  auto json = search::ResultJson(*result);
  FUZZ_EXPECT(json.ok(), "a result that cannot be written as JSON: {}", json.status().ToString());
  FUZZ_EXPECT(json->find(lake.secret) == std::string::npos, "tenant b's record in tenant a's result: {}", *json);
  return 0;
}
