// Arrow Flight and Parquet (from the pyarrow wheel, which carries its own gRPC and protobuf) and our
// gRPC services (Debian's gRPC and protobuf) must live in one process: `openwit all` runs the
// Flight server of storage beside the gRPC services of the other roles. This test keeps that true
// across upgrades of either side (DESIGN.md, "Dependencies").

#include <atomic>
#include <filesystem>
#include <thread>

#include <arrow/api.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/flight/api.h>
#include <arrow/io/api.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "control/control_service.h"
#include "control/node_registry.h"

namespace openwit {
namespace {

namespace flight = arrow::flight;

class CountingFlightServer : public flight::FlightServerBase {
 public:
  std::atomic<int64_t> rows{0};
  std::atomic<int64_t> batches{0};

  arrow::Status DoPut(const flight::ServerCallContext&, std::unique_ptr<flight::FlightMessageReader> reader,
                      std::unique_ptr<flight::FlightMetadataWriter>) override {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, reader->Next());
      if (!chunk.data) break;
      rows += chunk.data->num_rows();
      ++batches;
    }
    return arrow::Status::OK();
  }
};

std::shared_ptr<arrow::RecordBatch> MakeBatch(int64_t n) {
  arrow::Int64Builder ts;
  arrow::StringBuilder body;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(ts.Append(1700000000000000000 + i).ok());
    EXPECT_TRUE(body.Append("log line " + std::to_string(i)).ok());
  }
  auto schema = arrow::schema({arrow::field("Timestamp", arrow::int64()), arrow::field("Body", arrow::utf8())});
  return arrow::RecordBatch::Make(schema, n, {ts.Finish().ValueOrDie(), body.Finish().ValueOrDie()});
}

TEST(ArrowGrpcCoexistenceTest, FlightDoPutParquetAndOurGrpcServiceInOneProcess) {
  // Our gRPC service (Debian gRPC).
  NodeRegistry registry(std::chrono::seconds(10));
  ControlService service(&registry, ClusterToken("coexistence-cluster-token"));
  grpc::ServerBuilder builder;
  int control_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &control_port);
  builder.RegisterService(&service);
  auto control_server = builder.BuildAndStart();
  ASSERT_TRUE(control_server);
  ASSERT_GT(control_port, 0);

  // Arrow Flight server (pyarrow's Arrow C++).
  CountingFlightServer flight_server;
  auto location = flight::Location::ForGrpcTcp("127.0.0.1", 0).ValueOrDie();
  ASSERT_TRUE(flight_server.Init(flight::FlightServerOptions(location)).ok());
  ASSERT_GT(flight_server.port(), 0);

  // Both at once: a Flight DoPut stream and calls to our service from another thread.
  std::atomic<int> control_calls{0};
  std::thread control_client([&] {
    auto stub = control::v1::Control::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(control_port), grpc::InsecureChannelCredentials()));
    for (int i = 0; i < 200; ++i) {
      grpc::ClientContext ctx;
      ctx.AddMetadata(kClusterTokenHeader, "coexistence-cluster-token");
      control::v1::RegisterRequest req;
      req.mutable_node()->set_node_id("node-" + std::to_string(i % 7));
      req.mutable_node()->add_roles("ingest");
      control::v1::RegisterResponse resp;
      if (stub->Register(&ctx, req, &resp).ok()) ++control_calls;
    }
  });

  auto client =
      flight::FlightClient::Connect(flight::Location::ForGrpcTcp("127.0.0.1", flight_server.port()).ValueOrDie())
          .ValueOrDie();
  auto batch = MakeBatch(10000);
  auto put = client->DoPut(flight::FlightDescriptor::Path({"tenant", "logs"}), batch->schema()).ValueOrDie();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(put.writer->WriteRecordBatch(*batch).ok());
  ASSERT_TRUE(put.writer->DoneWriting().ok());
  ASSERT_TRUE(put.writer->Close().ok());
  control_client.join();

  EXPECT_EQ(flight_server.rows.load(), 200000);
  EXPECT_EQ(flight_server.batches.load(), 20);
  EXPECT_EQ(control_calls.load(), 200);
  control::v1::ListNodesResponse nodes;
  {
    auto stub = control::v1::Control::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(control_port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata(kClusterTokenHeader, "coexistence-cluster-token");
    control::v1::ListNodesRequest req;
    req.set_role("ingest");
    ASSERT_TRUE(stub->ListNodes(&ctx, req, &nodes).ok());
  }
  EXPECT_EQ(nodes.nodes_size(), 7);

  // Parquet (zstd) through arrow::fs, written and read back while both servers still run.
  auto dir = std::filesystem::temp_directory_path() / ("openwit-coexist-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  std::string path = (dir / "part.parquet").string();
  {
    auto out = fs->OpenOutputStream(path).ValueOrDie();
    auto table = arrow::Table::FromRecordBatches({batch, batch}).ValueOrDie();
    auto props = parquet::WriterProperties::Builder().compression(arrow::Compression::ZSTD)->build();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 4096, props).ok());
    ASSERT_TRUE(out->Close().ok());
  }
  {
    auto in = fs->OpenInputFile(path).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool()).ValueOrDie();
    auto table = reader->ReadTable().ValueOrDie();
    EXPECT_EQ(table->num_rows(), 20000);
    auto body = std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("Body")->chunk(0));
    EXPECT_EQ(body->GetString(42), "log line 42");
    EXPECT_EQ(reader->parquet_reader()->metadata()->RowGroup(0)->ColumnChunk(1)->compression(),
              arrow::Compression::ZSTD);
  }
  std::filesystem::remove_all(dir);

  ASSERT_TRUE(flight_server.Shutdown().ok());
  control_server->Shutdown();
}

}  // namespace
}  // namespace openwit
