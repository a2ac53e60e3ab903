#pragma once
// The lake the search fuzz targets query (search_query_fuzz.cc, logql_fuzz.cc): logs files of two
// tenants written as storage writes them, registered in a SQLite metastore, and a QueryEngine with
// small bounds over them. Tenant b's file holds `secret`, a token made at start-up and unknown to
// the fuzzer, which must never reach tenant a. Files go to /dev/shm when it exists.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <fmt/format.h>

#include "fuzz_support.h"
#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "search/query_engine.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"
#include "storage/parquet_writer.h"

namespace openwit::fuzz {

inline constexpr int64_t kFuzzLakeT0 = 1700000000LL * 1000000000;  // 2023-11-14T22:13:20Z

struct FuzzLake {
  std::filesystem::path root;
  std::unique_ptr<storage::ObjectStore> store;
  std::unique_ptr<storage::Metastore> metastore;
  std::unique_ptr<search::QueryEngine> engine;
  std::string secret;  // tenant b's log body

  // An empty lake in openwit-fuzz-<name>-<pid>, and a new secret.
  void Open(const std::string& name) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    root = base / fmt::format("openwit-fuzz-{}-{}", name, ::getpid());
    fs::remove_all(root, ec);
    fs::create_directories(root / "lake");
    ObjectStoreConfig store_config;
    store_config.uri = (root / "lake").string();
    auto opened = storage::ObjectStore::Open(store_config);
    FUZZ_EXPECT(opened.ok(), "object store: {}", opened.status().ToString());
    store = std::move(*opened);
    MetastoreConfig meta;
    meta.sqlite_path = (root / "metastore.sqlite").string();
    auto opened_metastore = storage::Metastore::Open(meta);
    FUZZ_EXPECT(opened_metastore.ok(), "metastore: {}", opened_metastore.status().ToString());
    metastore = std::move(*opened_metastore);
    secret = fmt::format("{:016x}{:016x}", std::random_device{}(), std::random_device{}());
  }

  // The records of `resource` as a logs file of `tenant`, registered with the time range
  // [kFuzzLakeT0, max_time_ns].
  void AddLogsFile(const std::string& tenant, const opentelemetry::proto::logs::v1::ResourceLogs& resource,
                   int64_t max_time_ns) {
    ingest::ArrowConverter converter(ingest::Signal::kLogs);
    auto appended = converter.Append(resource);
    FUZZ_EXPECT(appended.ok(), "converting the lake's records: {}", appended.ToString());
    auto batch = converter.Finish();
    FUZZ_EXPECT(batch.ok(), "converting the lake's records: {}", batch.status().ToString());
    const std::string key = fmt::format("tenant={}/signal=logs/date=2023-11-14/hour=22/{}.parquet", tenant, tenant);
    const std::filesystem::path path = root / "lake" / key;
    auto written = storage::WriteStableParquet({*batch}, (*batch)->schema(), path.string());
    FUZZ_EXPECT(written.ok(), "writing {}: {}", path.string(), written.ToString());
    storage::LakeFile file;
    file.uri = store->Uri(key);
    file.tenant = tenant;
    file.signal = "logs";
    file.min_time_ns = kFuzzLakeT0;
    file.max_time_ns = max_time_ns;
    file.row_count = (*batch)->num_rows();
    file.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    file.created_at_ns = 1;
    auto added = metastore->AddFiles({file});
    FUZZ_EXPECT(added.ok(), "metastore: {}", added.ToString());
  }

  // The engine over the lake. Every table has its schema (a word of the input may name one, as the
  // engine reads SQL); small bounds: an input that asks DuckDB for much is cut by them, which is
  // what they are for.
  void OpenEngine() {
    search::QueryEngineOptions options;
    options.metastore = metastore.get();
    options.lake_uri_root = store->uri_root();
    options.limits.query_timeout_ms = 2000;
    options.limits.memory_limit_mb = 256;
    options.limits.max_result_rows = 100;
    options.limits.threads = 1;
    for (auto signal : {ingest::Signal::kLogs, ingest::Signal::kTraces, ingest::Signal::kMetrics}) {
      options.schemas[ingest::SignalText(signal)] = ingest::SchemaFor(signal);
    }
    options.scratch_dir = (root / "scratch").string();
    auto opened = search::QueryEngine::Open(std::move(options));
    FUZZ_EXPECT(opened.ok(), "engine: {}", opened.status().ToString());
    engine = std::move(*opened);
  }

  // Everything gone (at exit).
  void Close() {
    engine.reset();
    metastore.reset();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

}  // namespace openwit::fuzz
