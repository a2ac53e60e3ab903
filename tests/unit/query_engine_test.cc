// The search engine (src/search): the caller's files only, every escape refused, every bound held.

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/http_server.h"
#include "common/metrics.h"
#include "ingest/arrow_convert.h"
#include "search/fresh_source.h"
#include "search/lake_tables.h"
#include "search/query_engine.h"
#include "search/query_error.h"
#include "search/result_format.h"
#include "search/search_api.h"
#include "test_lake.h"

namespace openwit::search {
namespace {

constexpr int64_t kHour = 3600LL * 1000000000;
constexpr int64_t kT0 = 1700000000LL * 1000000000;  // 2023-11-14T22:13:20Z

std::shared_ptr<arrow::Schema> LogsSchema() {
  return arrow::schema({arrow::field("Timestamp", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
                        arrow::field("ServiceName", arrow::utf8()), arrow::field("Body", arrow::utf8()),
                        arrow::field("TraceId", arrow::fixed_size_binary(16))});
}

class QueryEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("openwit-search-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    lake_ = storage::TestLake::Open(dir_);
    // Tenant a: two files an hour apart; tenant b: one file.
    AddFile("a", kT0, {"a-first", "a-second"}, "checkout");
    AddFile("a", kT0 + kHour, {"a-later"}, "payments");
    AddFile("b", kT0, {"b-secret"}, "checkout");
  }
  void TearDown() override {
    engine_.reset();
    lake_.metastore.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::shared_ptr<arrow::RecordBatch> LogsBatch(int64_t t, const std::vector<std::string>& bodies,
                                                       const std::string& service) {
    arrow::TimestampBuilder ts(LogsSchema()->field(0)->type(), arrow::default_memory_pool());
    arrow::StringBuilder svc, body;
    arrow::FixedSizeBinaryBuilder trace(arrow::fixed_size_binary(16));
    for (size_t i = 0; i < bodies.size(); ++i) {
      EXPECT_TRUE(ts.Append(t + static_cast<int64_t>(i) * 1000 + 789).ok());
      EXPECT_TRUE(svc.Append(service).ok());
      EXPECT_TRUE(body.Append(bodies[i]).ok());
      EXPECT_TRUE(trace.Append(std::string(15, '\0') + std::string(1, static_cast<char>(0xab))).ok());
    }
    return arrow::RecordBatch::Make(
        LogsSchema(), static_cast<int64_t>(bodies.size()),
        {ts.Finish().ValueOrDie(), svc.Finish().ValueOrDie(), body.Finish().ValueOrDie(), trace.Finish().ValueOrDie()});
  }

  void AddFile(const std::string& tenant, int64_t t, const std::vector<std::string>& bodies,
               const std::string& service) {
    auto table = arrow::Table::FromRecordBatches({LogsBatch(t, bodies, service)}).ValueOrDie();
    std::string key =
        fmt::format("tenant={}/signal=logs/date=2023-11-14/hour=22/{}-{}.parquet", tenant, tenant, files_++);
    std::string path = lake_.dir + "/" + key;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out).ok());
    ASSERT_TRUE(out->Close().ok());
    storage::LakeFile file;
    file.uri = lake_.store->Uri(key);
    file.tenant = tenant;
    file.signal = "logs";
    file.min_time_ns = t;
    file.max_time_ns = t + static_cast<int64_t>(bodies.size()) * 1000;
    file.row_count = static_cast<int64_t>(bodies.size());
    file.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    file.created_at_ns = 1;
    ASSERT_TRUE(lake_.metastore->AddFiles({file}).ok());
    paths_[tenant].push_back(path);
  }

  QueryEngine& Engine(SearchConfig limits = {}, FreshSource* fresh = nullptr) {
    QueryEngineOptions options;
    options.fresh = fresh;
    options.metastore = lake_.metastore.get();
    options.lake_uri_root = lake_.store->uri_root();
    options.limits = limits;
    options.schemas["logs"] = LogsSchema();
    options.scratch_dir = (dir_ / "scratch").string();
    auto engine = QueryEngine::Open(std::move(options));
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    return *engine_;
  }

  static std::vector<std::string> Column(const QueryResult& r, int c) {
    std::vector<std::string> out;
    for (const auto& b : r.rows.batches) {
      for (int64_t i = 0; i < b->num_rows(); ++i) out.push_back(b->column(c)->GetScalar(i).ValueOrDie()->ToString());
    }
    return out;
  }

  std::filesystem::path dir_;
  storage::TestLake lake_;
  std::unique_ptr<QueryEngine> engine_;
  std::map<std::string, std::vector<std::string>> paths_;
  int files_ = 0;
};

// Records not published yet, as a storage node would answer them: by tenant, with their files' stems.
class FakeFreshSource final : public FreshSource {
 public:
  arrow::Result<FreshData> Fetch(const std::string& tenant, const std::string& signal) override {
    std::lock_guard lock(mu);
    asked.emplace_back(tenant, signal);
    FreshData data;
    data.sources_unreachable = unreachable;
    if (signal != "logs") return data;
    for (const auto& [owner, batch] : batches) {
      if (owner == tenant) data.batches.push_back(batch);
    }
    return data;
  }
  std::mutex mu;
  std::vector<std::pair<std::string, FreshBatch>> batches;  // by tenant
  std::vector<std::pair<std::string, std::string>> asked;
  int64_t unreachable = 0;
};

TEST(LakeTablesTest, TablesNamedAsWords) {
  auto names = [](std::string_view sql) {
    std::vector<std::string> out;
    for (const auto& t : TablesNamedIn(sql)) out.emplace_back(t.name);
    return out;
  };
  EXPECT_EQ(names("SELECT * FROM logs"), std::vector<std::string>{"logs"});
  EXPECT_EQ(names("from LOGS join \"Spans\" using (TraceId), logs"), (std::vector<std::string>{"logs", "spans"}));
  EXPECT_TRUE(names("SELECT 1 FROM my_logs, logsx").empty());
}

TEST_F(QueryEngineTest, SeesOnlyTheCallersFilesAndPrunesByTime) {
  auto& engine = Engine();
  auto r = engine.Run("a", {.sql = "SELECT Body FROM logs ORDER BY Body"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Column(*r, 0), (std::vector<std::string>{"a-first", "a-later", "a-second"}));
  EXPECT_EQ(r->stats.files_considered, 2);
  EXPECT_EQ(r->stats.files_read, 2);

  auto b = engine.Run("b", {.sql = "SELECT Body, tenant FROM logs"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Column(*b, 0), std::vector<std::string>{"b-secret"});
  EXPECT_EQ(Column(*b, 1), std::vector<std::string>{"b"});

  // The second file of a starts an hour later: a range ending before it prunes it.
  auto early = engine.Run("a", {.sql = "SELECT count(*) FROM logs", .start_ns = kT0, .end_ns = kT0 + kHour / 2});
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(Column(*early, 0), std::vector<std::string>{"2"});
  EXPECT_EQ(early->stats.files_considered, 2);
  EXPECT_EQ(early->stats.files_pruned, 1);
  EXPECT_EQ(early->stats.files_read, 1);
  EXPECT_GT(early->stats.bytes_in_files, 0);
  EXPECT_GT(early->stats.elapsed_ms, 0);
}

TEST_F(QueryEngineTest, TenantWithoutFilesGetsAnEmptyTable) {
  auto r = Engine().Run("nobody", {.sql = "SELECT ServiceName, count(*) FROM logs GROUP BY ServiceName"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows.rows, 0);
  EXPECT_EQ(r->stats.files_read, 0);
}

TEST_F(QueryEngineTest, EveryEscapeIsRefusedWithoutData) {
  auto& engine = Engine();
  // b's database opens first and a's is kept open: what one read, the other's still cannot.
  ASSERT_TRUE(engine.Run("b", {.sql = "SELECT count(*) FROM logs"}).ok());
  ASSERT_TRUE(engine.Run("a", {.sql = "SELECT count(*) FROM logs"}).ok());
  const std::string other = paths_["b"][0];
  const std::string own_dir = lake_.dir + "/tenant=a/";
  const std::string other_via_own = own_dir + "../" + other.substr(lake_.dir.size() + 1);
  const std::vector<std::pair<std::string, QueryErrorKind>> attempts = {
      {"SELECT * FROM read_parquet('/etc/passwd')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_csv('/etc/passwd')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_text('/etc/hostname')", QueryErrorKind::kRefused},
      {"SELECT * FROM glob('/*')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_parquet('" + other + "')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_parquet('" + lake_.dir + "/**/*.parquet')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_parquet('" + other_via_own + "')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_parquet('" + own_dir + "**/../../tenant=b/**/*.parquet')", QueryErrorKind::kRefused},
      {"SELECT * FROM read_parquet('file://" + other + "')", QueryErrorKind::kRefused},
      {"COPY (SELECT * FROM logs) TO '/tmp/openwit-escape.csv'", QueryErrorKind::kRefused},
      {"ATTACH '/tmp/openwit-escape.db' AS x", QueryErrorKind::kRefused},
      {"INSTALL httpfs", QueryErrorKind::kRefused},
      {"LOAD httpfs", QueryErrorKind::kRefused},
      {"SET threads = 8", QueryErrorKind::kRefused},
      {"SET enable_external_access = true", QueryErrorKind::kRefused},
      {"PRAGMA version", QueryErrorKind::kRefused},
      {"CREATE TABLE t AS SELECT * FROM logs", QueryErrorKind::kRefused},
      {"SELECT Body FROM logs; SELECT * FROM read_parquet('" + other + "')", QueryErrorKind::kRefused},
      {"SELECT 1; SELECT 2", QueryErrorKind::kRefused},
      // DuckDB has no getenv outside its shell: it does not exist here at all.
      {"SELECT getenv('HOME')", QueryErrorKind::kBadQuery},
  };
  for (const auto& [sql, kind] : attempts) {
    auto r = engine.Run("a", {.sql = sql});
    ASSERT_FALSE(r.ok()) << sql << " returned " << r->rows.rows << " rows";
    EXPECT_EQ(r.status().message().find("b-secret"), std::string::npos);
    EXPECT_EQ(QueryErrorKindOf(r.status()), kind) << sql << ": " << r.status();
    EXPECT_FALSE(r.status().message().empty());
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/openwit-escape.csv"));
  EXPECT_FALSE(std::filesystem::exists("/tmp/openwit-escape.db"));
}

TEST_F(QueryEngineTest, BadSqlAndUnknownColumnsAreBadQueries) {
  auto& engine = Engine();
  for (const char* sql : {"SELEC 1", "SELECT NoSuchColumn FROM logs", "SELECT * FROM no_such_table", "", "   ;"}) {
    auto r = engine.Run("a", {.sql = sql});
    ASSERT_FALSE(r.ok()) << sql;
    EXPECT_EQ(QueryErrorKindOf(r.status()), QueryErrorKind::kBadQuery) << sql << ": " << r.status();
  }
  auto r = engine.Run("a", {.sql = "SELECT NoSuchColumn FROM logs"});
  EXPECT_NE(r.status().message().find("NoSuchColumn"), std::string::npos) << r.status();
}

TEST_F(QueryEngineTest, TimeoutStopsALongQuery) {
  SearchConfig limits;
  limits.query_timeout_ms = 300;
  auto& engine = Engine(limits);
  auto started = std::chrono::steady_clock::now();
  auto r = engine.Run("a", {.sql = "SELECT sum(hash(x.range * y.range)) FROM range(1000000) x, range(1000000) y"});
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(QueryErrorKindOf(r.status()), QueryErrorKind::kTimeout) << r.status();
  EXPECT_LT(took, std::chrono::seconds(10));
  // The engine goes on.
  EXPECT_TRUE(engine.Run("a", {.sql = "SELECT count(*) FROM logs"}).ok());
}

TEST_F(QueryEngineTest, RowsPastTheLimitAreCutAndFlagged) {
  SearchConfig limits;
  limits.max_result_rows = 1000;
  auto& engine = Engine(limits);
  auto r = engine.Run("a", {.sql = "SELECT range FROM range(100000)"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows.rows, 1000);
  EXPECT_TRUE(r->rows.truncated);
  auto limited = engine.Run("a", {.sql = "SELECT range FROM range(100000)", .limit = 10});
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->rows.rows, 10);
  auto exact = engine.Run("a", {.sql = "SELECT range FROM range(1000)"});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->rows.rows, 1000);
  EXPECT_FALSE(exact->rows.truncated);
}

TEST_F(QueryEngineTest, QueriesPastTheConcurrencyLimitAreRefused) {
  SearchConfig limits;
  limits.max_concurrent_queries = 1;
  limits.query_timeout_ms = 1500;
  auto& engine = Engine(limits);
  std::thread slow([&] {
    (void)engine.Run("a", {.sql = "SELECT sum(hash(x.range * y.range)) FROM range(1000000) x, range(1000000) y"});
  });
  while (engine.running() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto r = engine.Run("a", {.sql = "SELECT 1"});
  slow.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(QueryErrorKindOf(r.status()), QueryErrorKind::kBusy) << r.status();
  EXPECT_TRUE(engine.Run("a", {.sql = "SELECT 1"}).ok());
}

TEST_F(QueryEngineTest, MemoryLimitStopsAQuery) {
  SearchConfig limits;
  limits.memory_limit_mb = 16;
  auto& engine = Engine(limits);
  auto r = engine.Run("a", {.sql = "SELECT list(range || 'padding padding padding') FROM range(5000000)"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(QueryErrorKindOf(r.status()), QueryErrorKind::kMemoryLimit) << r.status();
}

// A tenant's database serves its next query (search.cached_databases), and that query reads
// nothing through what the last one made: its file list is reset, its fresh tables are gone, and
// a view kept from it (reached without naming it) reads nothing.
TEST_F(QueryEngineTest, ATenantsDatabaseServesItsNextQueryWithNothingOfTheLastLeft) {
  FakeFreshSource fresh;
  fresh.batches.push_back({"a", {"2023-11-14T23-00000000000000ff", LogsBatch(kT0 + 2 * kHour, {"a-fresh"}, "cart")}});
  auto& engine = Engine({}, &fresh);
  auto first = engine.Run("a", {.sql = "SELECT count(*) FROM logs"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->stats.database_reused);
  EXPECT_EQ(Column(*first, 0), std::vector<std::string>{"4"});
  // (Names no table: the engine sets up nothing for it.)
  auto leftovers = engine.Run(
      "a", {.sql = "SELECT (SELECT count(*) FROM duckdb_variables()), getvariable('openwit_files_logs') IS NULL"});
  ASSERT_TRUE(leftovers.ok()) << leftovers.status();
  EXPECT_TRUE(leftovers->stats.database_reused);
  EXPECT_EQ(Column(*leftovers, 0), std::vector<std::string>{"0"});
  EXPECT_EQ(Column(*leftovers, 1), std::vector<std::string>{"true"});
  auto stale = engine.Run("a", {.sql = "SELECT * FROM query('SELECT count(*) FROM ' || 'lo' || 'gs')"});
  ASSERT_FALSE(stale.ok()) << "a view of the last query read " << Column(*stale, 0)[0] << " rows";
  auto gone = engine.Run("a", {.sql = "SELECT * FROM openwit_fresh('logs_0')"});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(QueryErrorKindOf(gone.status()), QueryErrorKind::kBadQuery) << gone.status();
  EXPECT_NE(gone.status().message().find("no table 'logs_0'"), std::string::npos) << gone.status();
  // b gets a database of its own, and a's is still there after it.
  auto b = engine.Run("b", {.sql = "SELECT Body FROM logs"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->stats.database_reused);
  EXPECT_EQ(Column(*b, 0), std::vector<std::string>{"b-secret"});
  auto again = engine.Run("a", {.sql = "SELECT count(*) FROM logs"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->stats.database_reused);
  EXPECT_EQ(Column(*again, 0), std::vector<std::string>{"4"});
}

TEST_F(QueryEngineTest, CachedDatabasesBoundHowManyStayOpen) {
  SearchConfig limits;
  limits.cached_databases = 1;
  auto& engine = Engine(limits);
  auto reused = [&](const std::string& tenant) {
    auto r = engine.Run(tenant, {.sql = "SELECT count(*) FROM logs"});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->stats.database_reused;
  };
  EXPECT_FALSE(reused("a"));
  EXPECT_TRUE(reused("a"));
  EXPECT_FALSE(reused("b"));  // a's closes: one is kept
  EXPECT_FALSE(reused("a"));

  limits.cached_databases = 0;  // a database per query, closed after it
  auto& uncached = Engine(limits);
  for (int i = 0; i < 2; ++i) {
    auto r = uncached.Run("a", {.sql = "SELECT count(*) FROM logs"});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->stats.database_reused);
    EXPECT_EQ(Column(*r, 0), std::vector<std::string>{"3"});
  }
}

// Queries of one tenant at once share its database, each on its own connection with its own
// views and fresh tables (same names, different rows): none sees another's.
TEST_F(QueryEngineTest, ConcurrentQueriesOfATenantKeepTheirOwnViews) {
  FakeFreshSource fresh;
  fresh.batches.push_back(
      {"a", {"2023-11-14T23-00000000000000ff", LogsBatch(kT0 + 2 * kHour, {"a-fresh", "a-fresher"}, "cart")}});
  SearchConfig limits;
  limits.max_concurrent_queries = 4;
  auto& engine = Engine(limits, &fresh);
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        // Half the queries prune by time: their views differ from the others' (no fresh row, one file).
        const bool early = (t + i) % 2 == 0;
        QueryRequest request{.sql = "SELECT count(*) FROM logs"};
        if (early) request.start_ns = kT0, request.end_ns = kT0 + kHour / 2;
        auto r = engine.Run("a", request);
        if (!r.ok()) {
          ++failed;
          ADD_FAILURE() << r.status();
          continue;
        }
        if (Column(*r, 0) != std::vector<std::string>{early ? "2" : "5"}) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(QueryEngineTest, JsonAnswerHasTypedColumnsRowsAndStats) {
  auto r = Engine().Run("a", {.sql = "SELECT Timestamp, Body, TraceId FROM logs ORDER BY Timestamp LIMIT 1"});
  ASSERT_TRUE(r.ok()) << r.status();
  auto json = nlohmann::json::parse(*ResultJson(*r));
  EXPECT_EQ(json["columns"][0]["name"], "Timestamp");
  EXPECT_EQ(json["columns"][0]["type"], "timestamp[ns, tz=UTC]");
  // Nanoseconds kept: the file holds kT0 + 789 ns (DuckDB 1.5 read them as microseconds).
  EXPECT_EQ(json["rows"][0][0], "2023-11-14T22:13:20.000000789Z");
  EXPECT_EQ(json["rows"][0][1], "a-first");
  EXPECT_EQ(json["rows"][0][2], "000000000000000000000000000000ab");
  EXPECT_EQ(json["truncated"], false);
  EXPECT_EQ(json["stats"]["files_read"], 2);
  EXPECT_EQ(json["stats"]["rows_returned"], 1);
}

TEST_F(QueryEngineTest, NanosecondTimesTakeEveryTimestampFunction) {
  // DuckDB 2.0.0 gives TIMESTAMPTZ_NS no comparison with TIMESTAMPTZ and none of these functions:
  // OpenWit's implicit casts do (duckdb_session.cc). Without them each query is a binder error.
  auto& engine = Engine();
  const std::pair<std::string, std::string> queries[] = {
      {"SELECT count(*) FROM logs WHERE Timestamp >= now() - INTERVAL 100 YEAR", "3"},
      {"SELECT count(*) FROM logs WHERE Timestamp < TIMESTAMPTZ '2023-11-14 22:13:20.000002+00'", "2"},
      {"SELECT count(*) FROM logs WHERE Timestamp = '2023-11-14 22:13:20.000000789+00'", "1"},  // exact
      {"SELECT epoch_us(min(Timestamp)) FROM logs", "1700000000000000"},
      {"SELECT epoch_ns(min(Timestamp)) FROM logs", "1700000000000000789"},
      {"SELECT count(DISTINCT time_bucket(INTERVAL '1 hour', Timestamp)) FROM logs", "2"},
      {"SELECT CAST(date_trunc('hour', min(Timestamp)) AS VARCHAR) FROM logs", "2023-11-14 22:00:00+00"},
      {"SELECT extract(hour FROM min(Timestamp)) FROM logs", "22"},
      {"SELECT CAST(min(Timestamp) - INTERVAL 1 HOUR AS VARCHAR) FROM logs", "2023-11-14 21:13:20+00"},
  };
  for (const auto& [sql, want] : queries) {
    auto r = engine.Run("a", {.sql = sql});
    ASSERT_TRUE(r.ok()) << sql << ": " << r.status();
    EXPECT_EQ(Column(*r, 0), std::vector<std::string>{want}) << sql;
  }
}

// Issue #13: rows not published yet are searched beside the lake's, each once, the caller's only.
TEST_F(QueryEngineTest, FreshRowsJoinTheLakesOncePerFile) {
  FakeFreshSource fresh;
  // a's second file (stem a-1, "a-later") was published while its rows were still sent as fresh:
  // they must count once. a also has a file that is not published at all, and b one of its own.
  fresh.batches.push_back({"a", {"a-1", LogsBatch(kT0 + kHour, {"a-later"}, "payments")}});
  fresh.batches.push_back(
      {"a", {"2023-11-14T23-00000000000000ff", LogsBatch(kT0 + 2 * kHour, {"a-fresh", "a-fresher"}, "cart")}});
  fresh.batches.push_back({"b", {"2023-11-14T22-0000000000000001", LogsBatch(kT0, {"b-fresh"}, "checkout")}});
  fresh.unreachable = 1;
  auto& engine = Engine({}, &fresh);
  auto r = engine.Run("a", {.sql = "SELECT Body FROM logs ORDER BY Body"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Column(*r, 0), (std::vector<std::string>{"a-first", "a-fresh", "a-fresher", "a-later", "a-second"}));
  EXPECT_EQ(fresh.asked, (std::vector<std::pair<std::string, std::string>>{{"a", "logs"}}));
  EXPECT_EQ(r->stats.files_considered, 2);
  EXPECT_EQ(r->stats.files_fresh, 1);
  EXPECT_EQ(r->stats.files_read, 1);
  EXPECT_EQ(r->stats.fresh_batches, 2);
  EXPECT_EQ(r->stats.fresh_rows, 3);
  EXPECT_EQ(r->stats.fresh_sources_unreachable, 1);

  // The same columns and types on both sides, the partition columns included: nanoseconds, ids
  // as BLOB, the hour the fresh file opened.
  auto typed = engine.Run("a", {.sql = "SELECT Body, Timestamp, TraceId, tenant, signal, CAST(date AS VARCHAR), hour, "
                                       "typeof(Timestamp), typeof(TraceId) FROM logs "
                                       "WHERE Body IN ('a-first', 'a-fresh') ORDER BY Body"});
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(typed->rows.schema->field(1)->type()->ToString(), "timestamp[ns, tz=UTC]");
  EXPECT_EQ(Column(*typed, 3), (std::vector<std::string>{"a", "a"}));
  EXPECT_EQ(Column(*typed, 4), (std::vector<std::string>{"logs", "logs"}));
  EXPECT_EQ(Column(*typed, 5), (std::vector<std::string>{"2023-11-14", "2023-11-14"}));
  EXPECT_EQ(Column(*typed, 6), (std::vector<std::string>{"22", "23"}));
  EXPECT_EQ(Column(*typed, 7), (std::vector<std::string>{"TIMESTAMPTZ_NS", "TIMESTAMPTZ_NS"}));
  EXPECT_EQ(Column(*typed, 8), (std::vector<std::string>{"BLOB", "BLOB"}));
  auto exact =
      engine.Run("a", {.sql = "SELECT count(*) FROM logs WHERE Timestamp = '2023-11-15 00:13:20.000000789+00'"});
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(Column(*exact, 0), std::vector<std::string>{"1"});

  // b sees its own fresh row and none of a's.
  auto b = engine.Run("b", {.sql = "SELECT Body FROM logs ORDER BY Body"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Column(*b, 0), (std::vector<std::string>{"b-fresh", "b-secret"}));

  // start/end leave out fresh batches as they leave out files.
  auto early = engine.Run("a", {.sql = "SELECT Body FROM logs ORDER BY Body", .start_ns = kT0, .end_ns = kT0 + kHour});
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(Column(*early, 0), (std::vector<std::string>{"a-first", "a-second"}));
  EXPECT_EQ(early->stats.fresh_batches, 0);
  EXPECT_EQ(early->stats.files_fresh, 1);  // skipped still: its rows came fresh (and are out of range)

  // A tenant with nothing but fresh rows, and a query that names no table, asks nothing.
  fresh.asked.clear();
  auto none = engine.Run("a", {.sql = "SELECT 1"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(fresh.asked.empty());
}

// Every column of the three lake schemas (maps, lists of structs, fixed-size ids, nanosecond times)
// reads with the same DuckDB type from fresh Arrow as from the lake's Parquet: the views union
// them by name, and a differing type would change what a query sees.
TEST_F(QueryEngineTest, FreshBatchesOfEverySignalReadWithTheLakesTypes) {
  class OneRowOfNulls final : public FreshSource {
   public:
    arrow::Result<FreshData> Fetch(const std::string&, const std::string& signal) override {
      auto schema = ingest::SchemaFor(signal == "logs"     ? ingest::Signal::kLogs
                                      : signal == "traces" ? ingest::Signal::kTraces
                                                           : ingest::Signal::kMetrics);
      arrow::ArrayVector columns;
      for (const auto& field : schema->fields()) {
        ARROW_ASSIGN_OR_RAISE(auto column, arrow::MakeArrayOfNull(field->type(), 1));
        columns.push_back(std::move(column));
      }
      FreshData data;
      data.batches.push_back({"2023-11-14T22-00000000000000aa", arrow::RecordBatch::Make(schema, 1, columns)});
      return data;
    }
  } fresh;
  SearchConfig limits;
  for (const auto* table : {"logs", "spans", "metrics"}) {
    QueryEngineOptions options;
    options.metastore = lake_.metastore.get();
    options.lake_uri_root = lake_.store->uri_root();
    for (auto signal : {ingest::Signal::kLogs, ingest::Signal::kTraces, ingest::Signal::kMetrics}) {
      options.schemas[ingest::SignalText(signal)] = ingest::SchemaFor(signal);
    }
    options.scratch_dir = (dir_ / "scratch").string();
    auto lake_only = QueryEngine::Open(options).ValueOrDie();
    options.fresh = &fresh;
    auto with_fresh = QueryEngine::Open(options).ValueOrDie();
    const std::string sql = fmt::format("SELECT * FROM {}", table);
    auto typed = lake_only->Run("nobody", {.sql = sql});
    auto fresh_typed = with_fresh->Run("nobody", {.sql = sql});
    ASSERT_TRUE(typed.ok()) << table << ": " << typed.status();
    ASSERT_TRUE(fresh_typed.ok()) << table << ": " << fresh_typed.status();
    EXPECT_EQ(typed->rows.rows, 0) << table;
    EXPECT_EQ(fresh_typed->rows.rows, 1) << table;
    EXPECT_TRUE(typed->rows.schema->Equals(*fresh_typed->rows.schema))
        << table << "\nlake:  " << typed->rows.schema->ToString()
        << "\nfresh: " << fresh_typed->rows.schema->ToString();
  }
}

TEST_F(QueryEngineTest, FreshnessZeroReadsPublishedFilesOnly) {
  FakeFreshSource fresh;
  fresh.batches.push_back({"a", {"a-1", LogsBatch(kT0 + kHour, {"a-later"}, "payments")}});
  SearchConfig limits;
  limits.freshness_seconds = 0;
  auto r = Engine(limits, &fresh).Run("a", {.sql = "SELECT Body FROM logs ORDER BY Body"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Column(*r, 0), (std::vector<std::string>{"a-first", "a-later", "a-second"}));
  EXPECT_TRUE(fresh.asked.empty());
  EXPECT_EQ(r->stats.files_fresh, 0);
}

// POST /v1/query with a key: the status and the body of the answer.
std::pair<int, std::string> PostQuery(int port, const std::string& authorization, const std::string& body) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req(http::verb::post, "/v1/query", 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(stream, buffer, res, ec);
  if (ec) return {-1, ec.message()};
  return {static_cast<int>(res.result_int()), res.body()};
}

// The API knows no keys: the node tells it whose a request is. What it counts goes to the registry
// it was handed.
TEST_F(QueryEngineTest, ApiAsksTheNodeWhoseRequestItIsAndCountsInTheRegistryHandedToIt) {
  auto metrics = std::make_shared<MetricsRegistry>();
  SearchApiOptions options;
  options.engine = &Engine();
  options.tenant_of = [](const std::string& authorization, const std::string& api_key,
                         std::string* why) -> std::optional<std::string> {
    if (authorization == "Bearer key-of-b" && api_key.empty()) return "b";
    *why = "unknown key";
    return std::nullopt;
  };
  options.metrics = metrics;
  SearchApi api(std::move(options));
  HttpServerOptions http;
  http.name = "search";
  HttpServer server(http);
  api.Register(&server);
  ASSERT_TRUE(server.Start().ok());

  auto [refused, refusal] = PostQuery(server.port(), "Bearer key-of-a", R"({"sql": "SELECT Body FROM logs"})");
  EXPECT_EQ(refused, 401);
  EXPECT_NE(refusal.find("unknown key"), std::string::npos) << refusal;
  auto [status, answer] = PostQuery(server.port(), "Bearer key-of-b", R"({"sql": "SELECT Body FROM logs"})");
  EXPECT_EQ(status, 200) << answer;
  auto json = nlohmann::json::parse(answer);
  EXPECT_EQ(json["rows"], nlohmann::json::parse(R"([["b-secret"]])"));
  auto [bad, _] = PostQuery(server.port(), "Bearer key-of-b", R"({"sql": 1})");
  EXPECT_EQ(bad, 400);
  server.Stop();
  api.Drain();

  EXPECT_EQ(metrics->Read("search.queries", {{"outcome", "unauthenticated"}}), 1);
  EXPECT_EQ(metrics->Read("search.queries", {{"outcome", "ok"}}), 1);
  EXPECT_EQ(metrics->Read("search.queries", {{"outcome", "bad_query"}}), 1);
  EXPECT_EQ(metrics->Read("search.queries", {{"outcome", "timeout"}}), 0);
}

}  // namespace
}  // namespace openwit::search

namespace openwit::search {
namespace {

TEST(ParseQueryRequestTest, FieldsTimesAndErrorsNamingTheField) {
  auto request = ParseQueryRequest(R"({"sql": "SELECT 1", "start": "2023-11-14T22:13:20.5Z", "end": 5, "limit": 3})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->sql, "SELECT 1");
  EXPECT_EQ(request->start_ns, 1700000000500000000LL);
  EXPECT_EQ(request->end_ns, 5);
  EXPECT_EQ(request->limit, 3);
  EXPECT_EQ(ParseQueryRequest(R"({"sql": "SELECT 1", "start": "1970-01-01T01:00:00+01:00"})")->start_ns, 0);

  auto refused = [](std::string_view body) {
    auto r = ParseQueryRequest(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(QueryErrorKindOf(r.status()), QueryErrorKind::kBadQuery) << body;
    return r.status().message();
  };
  EXPECT_THAT(refused("[1]"), ::testing::HasSubstr("JSON object"));
  EXPECT_THAT(refused(R"({"sql": 1})"), ::testing::HasSubstr("\"sql\""));
  EXPECT_THAT(refused(R"({"sql": "x", "limit": -1})"), ::testing::HasSubstr("\"limit\""));
  EXPECT_THAT(refused(R"({"sql": "x", "limit": 18446744073709551615})"), ::testing::HasSubstr("\"limit\""));
  EXPECT_THAT(refused(R"({"sql": "x", "tenant": "b"})"), ::testing::HasSubstr("unknown field \"tenant\""));
  EXPECT_THAT(refused(R"({"sql": "x", "end": "2023-11-14"})"), ::testing::HasSubstr("\"end\""));
  // Nanoseconds since 1970 in an int64 end in 2262: a later year is an error, not an overflow.
  EXPECT_THAT(refused(R"({"sql": "x", "start": "9999-12-31T23:59:59Z"})"), ::testing::HasSubstr("outside the years"));
  EXPECT_THAT(refused(R"({"sql": "x", "start": "0001-01-01T00:00:00Z"})"), ::testing::HasSubstr("outside the years"));
}

}  // namespace
}  // namespace openwit::search
