// Nodes (roles/node.h) own their metrics: two nodes in one process, each running every role, serve
// their own registry at /metrics, and a record sent to one is counted by that one only.

#include "roles/node.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace openwit {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;

Config TestConfig(const fs::path& dir, const std::string& id) {
  Config c;
  c.node.id = id;
  c.node.data_dir = (dir / "data").string();
  for (auto* port : {&c.admin.port, &c.grpc.port, &c.http.port, &c.ingest.listen.port, &c.storage.flight.port,
                     &c.control.listen.port, &c.search.port}) {
    *port = 0;
  }
  c.processing.wal.dir = (dir / "wal").string();
  c.storage.local_dir = (dir / "storage").string();
  c.storage.object_store.uri = (dir / "lake").string();
  c.metastore.sqlite_path = (dir / "metastore.sqlite").string();
  c.janitor.retention_days = 0;
  return c;
}

// "http://127.0.0.1:PORT/..." of the node's endpoint `name`.
int PortOf(const Node& node, const std::string& name) {
  for (const auto& e : node.endpoints()) {
    if (e.name != name) continue;
    const auto colon = e.address.rfind(':');
    return std::stoi(e.address.substr(colon + 1));
  }
  ADD_FAILURE() << "no endpoint " << name;
  return 0;
}

std::pair<int, std::string> Request(int port, http::verb method, const std::string& target,
                                    const std::string& body = "") {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

// The value of the sample `series` (a name, with its labels if it has any) in Prometheus text.
double Sample(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const auto at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size() - 1));
}

TEST(NodeTest, TwoNodesInOneProcessKeepTheirOwnMetrics) {
  const fs::path dir = fs::temp_directory_path() / ("openwit-node-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    Node a(TestConfig(dir / "a", "node-a"), AllRoles());
    Node b(TestConfig(dir / "b", "node-b"), AllRoles());
    ASSERT_TRUE(a.Start().ok());
    ASSERT_TRUE(b.Start().ok());

    const std::string logs = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"timeUnixNano":"1700000000000000000","body":{"stringValue":"one"}},
        {"timeUnixNano":"1700000000000000001","body":{"stringValue":"two"}}]}]}]})";
    auto [status, body] = Request(PortOf(a, "otlp-http"), http::verb::post, "/v1/logs", logs);
    ASSERT_EQ(status, 200) << body;

    const auto metrics_a = Request(PortOf(a, "metrics"), http::verb::get, "/metrics").second;
    const auto metrics_b = Request(PortOf(b, "metrics"), http::verb::get, "/metrics").second;
    EXPECT_EQ(Sample(metrics_a, "event_ingest_received"), 2);
    EXPECT_EQ(Sample(metrics_b, "event_ingest_received"), 0);
    EXPECT_EQ(Sample(metrics_a, "batch_created"), 1);
    EXPECT_EQ(Sample(metrics_b, "batch_created"), 0);
    EXPECT_EQ(Sample(metrics_a, "ingest_records_accepted"), 2);  // acked: the short WAL holds them
    EXPECT_EQ(Sample(metrics_b, "ingest_records_accepted"), 0);
    EXPECT_GE(Sample(metrics_a, "wal_write_latency_count{wal=\"short\"}"), 1);
    EXPECT_EQ(Sample(metrics_b, "wal_write_latency_count{wal=\"short\"}"), 0);
    for (const auto* text : {&metrics_a, &metrics_b}) {
      // Every stage of the node reports there, whether or not it has counted anything yet.
      for (const char* family : {"openwit_build_info", "otlp_http_rejected", "buffer_size", "arrow_send_latency",
                                 "storage_append_latency", "janitor_files_expired"}) {
        EXPECT_NE(text->find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
      }
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace openwit
