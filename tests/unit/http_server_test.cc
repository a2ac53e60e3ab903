#include "common/http_server.h"

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/metrics.h"

namespace openwit {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
};

// A plain Beast client on loopback.
Reply Send(int port, http::verb method, const std::string& target, const std::string& body = "") {
  net::io_context ioc;
  net::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(stream, buffer, res, ec);
  if (ec) return {-1, ec.message(), ""};
  return {static_cast<int>(res.result_int()), res.body(), std::string(res[http::field::retry_after])};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.name = "test";
    options.max_body_bytes = 1024;
    options.threads = 2;
    server_ = std::make_unique<HttpServer>(options);
    server_->Route("GET", "/hello", [](const HttpRequest& req, HttpResponder respond) {
      respond(HttpResponse::Text(200, "hello " + req.target));
    });
    server_->Route("POST", "/echo",
                   [](const HttpRequest& req, HttpResponder respond) { respond(HttpResponse::Text(200, req.body)); });
    for (std::string prefix : {"/api/*", "/api/traces/*"}) {
      server_->Route("GET", prefix, [prefix](const HttpRequest& req, HttpResponder respond) {
        respond(HttpResponse::Text(200, prefix + " " + req.path));
      });
    }
    server_->Route("GET", "/api/echo",
                   [](const HttpRequest&, HttpResponder respond) { respond(HttpResponse::Text(200, "echo")); });
    // Answers later, from another thread (as an ack after a WAL fsync would).
    server_->Route("POST", "/later", [this](const HttpRequest& req, HttpResponder respond) {
      std::lock_guard lock(answerers_mu_);
      answerers_.emplace_back([respond, body = req.body] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        HttpResponse r = HttpResponse::Text(429, "busy " + body);
        r.headers.emplace_back("Retry-After", "2");
        respond(r);
        respond(HttpResponse::Text(200, "ignored second answer"));
      });
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  // The answering threads hold their sessions: they end before the server does, as a real
  // handler's work (a WAL ack) ends before the node stops its HTTP server.
  void TearDown() override {
    std::lock_guard lock(answerers_mu_);
    for (auto& t : answerers_) t.join();
    server_.reset();
  }
  std::unique_ptr<HttpServer> server_;
  std::mutex answerers_mu_;
  std::vector<std::thread> answerers_;
};

TEST_F(HttpServerTest, RoutesByMethodAndPath) {
  auto r = Send(server_->port(), http::verb::get, "/hello?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello /hello?x=1");
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/nope").status, 404);
  EXPECT_EQ(Send(server_->port(), http::verb::post, "/hello").status, 405);
  EXPECT_EQ(Send(server_->port(), http::verb::post, "/echo", "abc").body, "abc");
}

TEST_F(HttpServerTest, PrefixRoutesTakeWhatNoExactRouteTakesLongestFirst) {
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/api/echo").body, "echo");
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/api/traces/0af7?x=1").body, "/api/traces/* /api/traces/0af7");
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/api/search").body, "/api/* /api/search");
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/api/traces/").body, "/api/* /api/traces/");
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/api/").status, 404);  // the prefix alone is no path under it
  EXPECT_EQ(Send(server_->port(), http::verb::post, "/api/traces/0af7").status, 405);
}

TEST(QueryParametersTest, DecodesEscapesPlusAndKeepsTheLastOfARepeatedName) {
  auto p = QueryParameters("/api/search?tags=service.name%3D%22a+b%22%20x&limit=20&limit=5&flag&&=v&bad=%zz%4");
  EXPECT_EQ(p["tags"], "service.name=\"a b\" x");
  EXPECT_EQ(p["limit"], "5");
  EXPECT_EQ(p.count("flag"), 1u);
  EXPECT_EQ(p["flag"], "");
  EXPECT_EQ(p[""], "v");
  EXPECT_EQ(p["bad"], "%zz%4");
  EXPECT_TRUE(QueryParameters("/api/search").empty());
}

TEST_F(HttpServerTest, AsynchronousAnswerFromAnotherThread) {
  auto r = Send(server_->port(), http::verb::post, "/later", "x");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "busy x");
  EXPECT_EQ(r.retry_after, "2");
}

TEST_F(HttpServerTest, OversizeBodyGets413) {
  auto r = Send(server_->port(), http::verb::post, "/echo", std::string(4096, 'a'));
  EXPECT_EQ(r.status, 413);
  // The server keeps serving.
  EXPECT_EQ(Send(server_->port(), http::verb::post, "/echo", "ok").body, "ok");
}

TEST_F(HttpServerTest, GarbageGets400AndServerSurvives) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  net::write(stream, net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(stream, buffer, res, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(Send(server_->port(), http::verb::get, "/hello").status, 200);
}

TEST(HttpServerStartTest, PortInUseIsAClearError) {
  HttpServer first({.name = "first"});
  ASSERT_TRUE(first.Start().ok());
  HttpServer second({.name = "second", .port = first.port()});
  auto status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("second: cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << status.message();
}

TEST(MetricsTest, SeedNamesBecomePrometheusNames) {
  MetricsRegistry registry;
  registry.Counter("event.ingest.received", "records received").Increment(3);
  registry.Gauge("buffer.size", "records buffered").Set(7);
  registry.Histogram("wal.write.latency", "seconds").Observe(0.002);
  // Looking a metric up again returns the same one.
  registry.Counter("event.ingest.received", "records received").Increment(2);
  std::string text = registry.Serialize();
  EXPECT_NE(text.find("event_ingest_received 5"), std::string::npos) << text;
  EXPECT_NE(text.find("buffer_size 7"), std::string::npos) << text;
  EXPECT_NE(text.find("wal_write_latency_bucket{le=\"0.0025\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("wal_write_latency_count 1"), std::string::npos) << text;
}

// At the connection limit, connections waiting for their client make room for new ones (the
// longest-waiting first); a connection whose request is being handled is never closed for them.
TEST(HttpServerLimitsTest, IdleConnectionsMakeRoomForNewOnes) {
  HttpServerOptions options;
  options.name = "limits";
  options.max_connections = 4;
  HttpServer server(options);
  std::mutex mu;
  std::vector<HttpResponder> held;
  server.Route("GET", "/hello",
               [](const HttpRequest&, HttpResponder respond) { respond(HttpResponse::Text(200, "hi")); });
  server.Route("GET", "/hold", [&](const HttpRequest&, HttpResponder respond) {
    std::lock_guard lock(mu);
    held.push_back(std::move(respond));
  });
  ASSERT_TRUE(server.Start().ok());
  net::io_context ioc;
  // Two requests being handled, then many connections that never send a byte.
  std::vector<std::thread> holders;
  std::vector<Reply> held_replies(2);
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&, i] { held_replies[i] = Send(server.port(), http::verb::get, "/hold"); });
  }
  for (int i = 0; i < 200 &&
                  [&] {
                    std::lock_guard lock(mu);
                    return held.size() < 2;
                  }();
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::unique_ptr<net::ip::tcp::socket>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<net::ip::tcp::socket>(ioc));
    idle.back()->connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())});
  }
  // A new client is served although 52 connections are open against a limit of 4.
  EXPECT_EQ(Send(server.port(), http::verb::get, "/hello").status, 200);
  // The requests in progress were not closed: they get their answers.
  {
    std::lock_guard lock(mu);
    for (auto& respond : held) respond(HttpResponse::Text(200, "held"));
  }
  for (auto& t : holders) t.join();
  for (const auto& r : held_replies) EXPECT_EQ(r.body, "held");
  // The oldest idle connections were closed by the server.
  char byte;
  boost::system::error_code ec;
  idle.front()->read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  server.Stop();
}

}  // namespace
}  // namespace openwit
