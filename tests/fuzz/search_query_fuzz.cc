// The search role's SQL entry point (POST /v1/query, search/search_api.h): the request body
// through ParseQueryRequest, then QueryEngine::Run for tenant "a" over a lake that also holds a
// file of tenant "b". Beside "no crash": every error carries a QueryErrorKind, a result never
// holds more rows than asked, and nothing of tenant b's file ever reaches tenant a (its log body
// is a token made at start-up, unknown to the fuzzer; an input that names the token is skipped,
// since SELECT 'token' would echo it). DuckDB itself is not instrumented: coverage comes from our
// parsing and confinement, the SQL text from the dictionary and the seeds.
//
// Input: the JSON body of a query. Files go to /dev/shm when it exists.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "fuzz_support.h"
#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "search/query_engine.h"
#include "search/query_error.h"
#include "search/result_format.h"
#include "search/search_api.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"
#include "storage/parquet_writer.h"

namespace openwit::fuzz {
namespace {

namespace fs = std::filesystem;
using opentelemetry::proto::logs::v1::ResourceLogs;

struct Lake {
  fs::path root;
  std::unique_ptr<storage::ObjectStore> store;
  std::unique_ptr<storage::Metastore> metastore;
  std::unique_ptr<search::QueryEngine> engine;
  std::string secret;  // tenant b's log body
};

Lake& TheLake() {
  static Lake lake;
  return lake;
}

constexpr int64_t kT0 = 1700000000LL * 1000000000;  // 2023-11-14T22:13:20Z

// A logs file of `tenant` whose records have these bodies, in the lake and the metastore.
void AddLogsFile(Lake& lake, const std::string& tenant, const std::vector<std::string>& bodies) {
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
  ingest::ArrowConverter converter(ingest::Signal::kLogs);
  auto appended = converter.Append(resource);
  FUZZ_EXPECT(appended.ok(), "converting the lake's records: {}", appended.ToString());
  auto batch = converter.Finish();
  FUZZ_EXPECT(batch.ok(), "converting the lake's records: {}", batch.status().ToString());
  const std::string key = fmt::format("tenant={}/signal=logs/date=2023-11-14/hour=22/{}.parquet", tenant, tenant);
  const fs::path path = lake.root / "lake" / key;
  auto written = storage::WriteStableParquet({*batch}, (*batch)->schema(), path.string());
  FUZZ_EXPECT(written.ok(), "writing {}: {}", path.string(), written.ToString());
  storage::LakeFile file;
  file.uri = lake.store->Uri(key);
  file.tenant = tenant;
  file.signal = "logs";
  file.min_time_ns = kT0;
  file.max_time_ns = kT0 + static_cast<int64_t>(bodies.size()) * 1000;
  file.row_count = (*batch)->num_rows();
  file.size_bytes = static_cast<int64_t>(fs::file_size(path));
  file.created_at_ns = 1;
  auto added = lake.metastore->AddFiles({file});
  FUZZ_EXPECT(added.ok(), "metastore: {}", added.ToString());
}

void OpenLake() {
  Lake& lake = TheLake();
  std::error_code ec;
  const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  lake.root = base / ("openwit-fuzz-search-" + std::to_string(::getpid()));
  fs::remove_all(lake.root, ec);
  fs::create_directories(lake.root / "lake");
  ObjectStoreConfig store;
  store.uri = (lake.root / "lake").string();
  auto opened = storage::ObjectStore::Open(store);
  FUZZ_EXPECT(opened.ok(), "object store: {}", opened.status().ToString());
  lake.store = std::move(*opened);
  MetastoreConfig meta;
  meta.sqlite_path = (lake.root / "metastore.sqlite").string();
  auto metastore = storage::Metastore::Open(meta);
  FUZZ_EXPECT(metastore.ok(), "metastore: {}", metastore.status().ToString());
  lake.metastore = std::move(*metastore);
  lake.secret = fmt::format("{:016x}{:016x}", std::random_device{}(), std::random_device{}());
  AddLogsFile(lake, "a", {"a-first", "a-second", "payment declined"});
  AddLogsFile(lake, "b", {lake.secret});

  search::QueryEngineOptions options;
  options.metastore = lake.metastore.get();
  options.lake_uri_root = lake.store->uri_root();
  // Small bounds: an input that asks DuckDB for much is cut by them, which is what they are for.
  options.limits.query_timeout_ms = 2000;
  options.limits.memory_limit_mb = 256;
  options.limits.max_result_rows = 100;
  options.limits.threads = 1;
  for (auto signal : {ingest::Signal::kLogs, ingest::Signal::kTraces, ingest::Signal::kMetrics}) {
    options.schemas[ingest::SignalText(signal)] = ingest::SchemaFor(signal);
  }
  options.scratch_dir = (lake.root / "scratch").string();
  auto engine = search::QueryEngine::Open(std::move(options));
  FUZZ_EXPECT(engine.ok(), "engine: {}", engine.status().ToString());
  lake.engine = std::move(*engine);
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace openwit::fuzz;
  InitializeTarget();
  OpenLake();
  std::atexit([] {
    Lake& lake = TheLake();
    lake.engine.reset();
    lake.metastore.reset();
    std::error_code ec;
    fs::remove_all(lake.root, ec);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  namespace search = openwit::search;
  Lake& lake = TheLake();
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
