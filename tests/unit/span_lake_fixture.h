#pragma once
// The lake the compatible APIs' tests (Tempo's, Jaeger's) read: files written as storage writes
// them, from spans converted as ingest converts them, and the routes of one API served over it.
//
// Tenant a has the sample trace (ids 1, service frontend) and a second one (ids 61, service
// checkout, a minute later, lasting two seconds more); tenant b has the sample trace only.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "arrow_convert_test_util.h"
#include "ingest/arrow_convert.h"
#include "search/query_engine.h"
#include "search/search_route.h"
#include "storage/parquet_writer.h"
#include "test_lake.h"

namespace openwit::search {

class SpanLakeTest : public ::testing::Test {
 protected:
  // The routes of the API under test.
  virtual std::vector<SearchRoute> Routes(QueryEngine* engine) = 0;

  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("openwit-spans-{}-{}-{}", ::getpid(), test->test_suite_name(), test->name());
    std::filesystem::remove_all(dir_);
    lake_ = storage::TestLake::Open(dir_);
    using ingest::arrow_test::Id;
    using ingest::arrow_test::SampleSpans;
    opentelemetry::proto::trace::v1::ResourceSpans other = SampleSpans();
    other.mutable_resource()->mutable_attributes(0)->mutable_value()->set_string_value("checkout");
    for (auto& span : *other.mutable_scope_spans(0)->mutable_spans()) {
      span.set_trace_id(Id(16, 61));
      span.set_start_time_unix_nano(span.start_time_unix_nano() + 60000000000);
      span.set_end_time_unix_nano(span.end_time_unix_nano() + 60000000000 + 2000000000);
    }
    AddFile("a", {SampleSpans(), other});
    AddFile("b", {SampleSpans()});
    QueryEngineOptions options;
    options.metastore = lake_.metastore.get();
    options.lake_uri_root = lake_.store->uri_root();
    options.schemas["traces"] = ingest::SchemaFor(ingest::Signal::kTraces);
    options.scratch_dir = (dir_ / "scratch").string();
    engine_ = QueryEngine::Open(std::move(options)).ValueOrDie();
    routes_ = Routes(engine_.get());
  }

  void TearDown() override {
    engine_.reset();
    lake_.metastore.reset();
    std::filesystem::remove_all(dir_);
  }

  // One more lake file of the tenant (named `name`), of spans within 70 s after kT0.
  void AddFile(const std::string& tenant, const std::vector<opentelemetry::proto::trace::v1::ResourceSpans>& resources,
               const std::string& name = "") {
    ingest::ArrowConverter converter(ingest::Signal::kTraces);
    for (const auto& r : resources) ASSERT_TRUE(converter.Append(r).ok());
    auto batch = converter.Finish().ValueOrDie();
    const std::string key =
        fmt::format("tenant={}/signal=traces/date=2023-11-14/hour=22/{}.parquet", tenant, name.empty() ? tenant : name);
    const std::string path = lake_.dir + "/" + key;
    ASSERT_TRUE(storage::WriteStableParquet({batch}, batch->schema(), path).ok());
    storage::LakeFile file;
    file.uri = lake_.store->Uri(key);
    file.tenant = tenant;
    file.signal = "traces";
    file.min_time_ns = ingest::arrow_test::kT0;
    file.max_time_ns = ingest::arrow_test::kT0 + 70000000000;
    file.row_count = batch->num_rows();
    file.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    file.created_at_ns = 1;
    ASSERT_TRUE(lake_.metastore->AddFiles({file}).ok());
  }

  // GET target as the tenant, through the route that takes it (the longest prefix, as the server).
  HttpResponse Get(const std::string& tenant, const std::string& target, const std::string& accept = "") {
    HttpRequest request;
    request.method = "GET";
    request.target = target;
    request.path = target.substr(0, target.find('?'));
    if (!accept.empty()) request.headers["accept"] = accept;
    const SearchRoute* best = nullptr;
    for (const auto& route : routes_) {
      const bool prefix = route.path.size() > 2 && route.path.substr(route.path.size() - 2) == "/*";
      const std::string stem = prefix ? route.path.substr(0, route.path.size() - 1) : route.path;
      if (prefix ? request.path.rfind(stem, 0) == 0 && (!best || stem.size() > best->path.size() - 1)
                 : request.path == route.path) {
        best = &route;
        if (!prefix) break;
      }
    }
    if (best == nullptr) return HttpResponse::Text(404, "no route");
    return best->handle(tenant, request);
  }

  std::filesystem::path dir_;
  storage::TestLake lake_;
  std::unique_ptr<QueryEngine> engine_;
  std::vector<SearchRoute> routes_;
};

}  // namespace openwit::search
