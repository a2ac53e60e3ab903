// DuckDB (our libduckdb.so, linked from the Go module proxy's archives, exporting only the C API)
// must live in one process with Arrow C++ (the pyarrow wheel) and Debian's gRPC: the search role
// runs beside every other role in `openwit all`. This test keeps that true across upgrades of any
// side (DESIGN.md, "Search engine"): DuckDB reads a Parquet file Arrow wrote while a Flight server
// and one of our gRPC services answer calls, and its result comes back as Arrow through the C data
// interface.

#include <duckdb.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <arrow/api.h>
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/flight/api.h>
#include <arrow/io/file.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include "common/cluster_token.h"
#include "control/control_service.h"
#include "control/node_registry.h"
#include "search/duckdb_session.h"

namespace openwit {
namespace {

class NullFlightServer : public arrow::flight::FlightServerBase {};

TEST(DuckDbCoexistenceTest, DuckDbReadsArrowParquetBesideFlightAndGrpc) {
  NodeRegistry registry(std::chrono::seconds(10));
  ControlService service(&registry, ClusterToken("duckdb-coexistence-token"));
  grpc::ServerBuilder builder;
  int control_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &control_port);
  builder.RegisterService(&service);
  auto control_server = builder.BuildAndStart();
  ASSERT_TRUE(control_server);
  NullFlightServer flight_server;
  ASSERT_TRUE(
      flight_server
          .Init(arrow::flight::FlightServerOptions(arrow::flight::Location::ForGrpcTcp("127.0.0.1", 0).ValueOrDie()))
          .ok());

  // A Parquet file written by Arrow: 100,000 rows in 4 row groups, the lake's timestamp type.
  auto dir = std::filesystem::temp_directory_path() / ("openwit-duckdb-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "part.parquet").string();
  constexpr int64_t kRows = 100000;
  {
    arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), arrow::default_memory_pool());
    arrow::StringBuilder service_name;
    arrow::Int64Builder value;
    for (int64_t i = 0; i < kRows; ++i) {
      ASSERT_TRUE(ts.Append(1700000000000000000 + i * 1000000).ok());
      ASSERT_TRUE(service_name.Append("svc-" + std::to_string(i % 3)).ok());
      ASSERT_TRUE(value.Append(i).ok());
    }
    auto schema = arrow::schema({arrow::field("Timestamp", ts.type()), arrow::field("ServiceName", arrow::utf8()),
                                 arrow::field("Value", arrow::int64())});
    auto table = arrow::Table::Make(
        schema, {ts.Finish().ValueOrDie(), service_name.Finish().ValueOrDie(), value.Finish().ValueOrDie()});
    auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
    auto props = parquet::WriterProperties::Builder().compression(arrow::Compression::ZSTD)->build();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, kRows / 4, props).ok());
    ASSERT_TRUE(out->Close().ok());
  }

  // gRPC calls to our service while DuckDB runs.
  std::atomic<int> control_calls{0};
  std::thread control_client([&] {
    auto stub = control::v1::Control::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(control_port), grpc::InsecureChannelCredentials()));
    for (int i = 0; i < 100; ++i) {
      grpc::ClientContext ctx;
      ctx.AddMetadata(kClusterTokenHeader, "duckdb-coexistence-token");
      control::v1::RegisterRequest req;
      req.mutable_node()->set_node_id("node-" + std::to_string(i % 5));
      control::v1::RegisterResponse resp;
      if (stub->Register(&ctx, req, &resp).ok()) ++control_calls;
    }
  });

  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  ASSERT_TRUE(search::RegisterDuckDbExtensions().ok());
  ASSERT_EQ(duckdb_open(nullptr, &db), DuckDBSuccess);
  ASSERT_EQ(duckdb_connect(db, &conn), DuckDBSuccess);
  duckdb_prepared_statement stmt = nullptr;
  ASSERT_EQ(duckdb_prepare(conn,
                           "SELECT ServiceName, count(*) AS n, sum(Value) AS total, max(Timestamp) AS last "
                           "FROM read_parquet($1) WHERE Value % 2 = 0 GROUP BY ServiceName ORDER BY ServiceName",
                           &stmt),
            DuckDBSuccess)
      << duckdb_prepare_error(stmt);
  duckdb_value file = duckdb_create_varchar(path.c_str());
  ASSERT_EQ(duckdb_bind_value(stmt, 1, file), DuckDBSuccess);
  duckdb_destroy_value(&file);
  duckdb_result result;
  ASSERT_EQ(duckdb_execute_prepared_streaming(stmt, &result), DuckDBSuccess) << duckdb_result_error(&result);

  // DuckDB -> Arrow through the C data interface.
  duckdb_arrow_options options = duckdb_result_get_arrow_options(&result);
  idx_t columns = duckdb_column_count(&result);
  std::vector<duckdb_logical_type> types;
  std::vector<const char*> names;
  for (idx_t i = 0; i < columns; ++i) {
    types.push_back(duckdb_column_logical_type(&result, i));
    names.push_back(duckdb_column_name(&result, i));
  }
  struct ArrowSchema c_schema;
  duckdb_error_data error = duckdb_to_arrow_schema(options, types.data(), names.data(), columns, &c_schema);
  ASSERT_EQ(error, nullptr);
  for (auto& t : types) duckdb_destroy_logical_type(&t);
  auto schema = arrow::ImportSchema(&c_schema).ValueOrDie();
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (duckdb_data_chunk chunk = duckdb_fetch_chunk(result)) {
    struct ArrowArray c_array;
    ASSERT_EQ(duckdb_data_chunk_to_arrow(options, chunk, &c_array), nullptr);
    duckdb_destroy_data_chunk(&chunk);
    batches.push_back(arrow::ImportRecordBatch(&c_array, schema).ValueOrDie());
  }
  duckdb_destroy_arrow_options(&options);
  duckdb_destroy_result(&result);
  duckdb_destroy_prepare(&stmt);
  duckdb_disconnect(&conn);
  duckdb_close(&db);
  control_client.join();

  auto table = arrow::Table::FromRecordBatches(schema, batches).ValueOrDie()->CombineChunks().ValueOrDie();
  ASSERT_EQ(table->num_rows(), 3);
  EXPECT_EQ(table->schema()->field(0)->type()->id(), arrow::Type::STRING);
  // The lake's timestamp[ns, UTC] comes back as DuckDB's TIMESTAMPTZ_NS: nanoseconds (DuckDB 2.0;
  // 1.5 read microseconds), zoned in the session's TimeZone, the host's here.
  ASSERT_EQ(table->schema()->field(3)->type()->id(), arrow::Type::TIMESTAMP);
  const auto& last = static_cast<const arrow::TimestampType&>(*table->schema()->field(3)->type());
  EXPECT_EQ(last.unit(), arrow::TimeUnit::NANO);
  EXPECT_FALSE(last.timezone().empty());
  auto svc = std::static_pointer_cast<arrow::StringArray>(table->column(0)->chunk(0));
  auto n = std::static_pointer_cast<arrow::Int64Array>(table->column(1)->chunk(0));
  EXPECT_EQ(svc->GetString(0), "svc-0");
  int64_t even_rows = 0;
  for (int i = 0; i < 3; ++i) even_rows += n->Value(i);
  EXPECT_EQ(even_rows, kRows / 2);
  EXPECT_EQ(control_calls.load(), 100);

  std::filesystem::remove_all(dir);
  ASSERT_TRUE(flight_server.Shutdown().ok());
  control_server->Shutdown();
}

}  // namespace
}  // namespace openwit
