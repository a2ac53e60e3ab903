// HttpServer over TLS, against a Beast TLS client that verifies the server against a test CA:
// handshake, requests, 413 on a large body, certificates replaced on disk served to new connections
// without a restart, a broken pair kept out of service.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/http_server.h"

namespace openwit {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A CA and leaf certificates it signs for 127.0.0.1, made with the openssl command line.
class TestCa {
 public:
  explicit TestCa(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=openwit-test-ca"
        " -keyout " +
        Path("ca.key") + " -out " + Path("ca.pem"));
    std::ofstream(dir_ / "leaf.ext") << "subjectAltName=IP:127.0.0.1\n";
  }
  // Writes NAME.pem and NAME.key: a certificate for 127.0.0.1 with common name `cn`.
  void Leaf(const std::string& name, const std::string& cn) {
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn + " -keyout " +
        Path(name + ".key") + " -out " + Path(name + ".csr"));
    Run("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " + Path("ca.pem") + " -CAkey " +
        Path("ca.key") + " -CAcreateserial -extfile " + Path("leaf.ext") + " -out " + Path(name + ".pem"));
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " 2>/dev/null").c_str()), 0) << command;
  }
  fs::path dir_;
};

struct TlsReply {
  int status = 0;
  std::string body;
  std::string peer_cn;  // common name of the certificate the server presented
  std::string error;
};

TlsReply SendTls(int port, const std::string& ca_path, const std::string& body = "",
                 const std::string& target = "/echo") {
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca_path);
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  TlsReply reply;
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) {
    reply.error = ec.message();
    return reply;
  }
  if (X509* cert = SSL_get_peer_certificate(stream.native_handle())) {
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    reply.peer_cn = cn;
    X509_free(cert);
  }
  http::request<http::string_body> req(http::verb::post, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) {
    reply.error = ec.message();
    return reply;
  }
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  stream.shutdown(ec);
  return reply;
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openwit-tls-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ca_ = std::make_unique<TestCa>(dir_);
    ca_->Leaf("first", "first.openwit.test");
    ca_->Leaf("second", "second.openwit.test");
    fs::copy_file(ca_->Path("first.pem"), ca_->Path("server.pem"));
    fs::copy_file(ca_->Path("first.key"), ca_->Path("server.key"));
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  void Start(std::chrono::milliseconds reload_interval = std::chrono::milliseconds(50)) {
    HttpServerOptions options;
    options.name = "tls-test";
    options.max_body_bytes = 1024;
    options.tls = {
        .cert_path = ca_->Path("server.pem"), .key_path = ca_->Path("server.key"), .reload_interval = reload_interval};
    server_ = std::make_unique<HttpServer>(options);
    server_->Route("POST", "/echo",
                   [](const HttpRequest& req, HttpResponder respond) { respond(HttpResponse::Text(200, req.body)); });
    auto s = server_->Start();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(server_->tls());
  }
  // Replaces the served pair the way a certificate manager does: new files renamed over the old.
  void Install(const std::string& name) {
    fs::copy_file(ca_->Path(name + ".key"), ca_->Path("server.key.new"), fs::copy_options::overwrite_existing);
    fs::copy_file(ca_->Path(name + ".pem"), ca_->Path("server.pem.new"), fs::copy_options::overwrite_existing);
    fs::rename(ca_->Path("server.key.new"), ca_->Path("server.key"));
    fs::rename(ca_->Path("server.pem.new"), ca_->Path("server.pem"));
  }

  fs::path dir_;
  std::unique_ptr<TestCa> ca_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTlsTest, ServesHttpsVerifiedByTheCa) {
  Start();
  auto r = SendTls(server_->port(), ca_->Path("ca.pem"), "over tls");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "over tls");
  EXPECT_EQ(r.peer_cn, "first.openwit.test");
  // A large body is refused with 413 over TLS too, and the answer reaches the client.
  auto big = SendTls(server_->port(), ca_->Path("ca.pem"), std::string(256 * 1024, 'a'));
  EXPECT_EQ(big.status, 413) << big.error;
  EXPECT_EQ(SendTls(server_->port(), ca_->Path("ca.pem"), "still serving").body, "still serving");
}

TEST_F(HttpServerTlsTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  Start();
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  stream.expires_after(std::chrono::seconds(10));
  http::request<http::string_body> req(http::verb::post, "/echo", 11);
  req.set(http::field::host, "127.0.0.1");
  req.body() = "clear text";
  req.prepare_payload();
  beast::error_code ec;
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  EXPECT_TRUE(ec);  // closed after the failed handshake, no HTTP answer
  EXPECT_EQ(SendTls(server_->port(), ca_->Path("ca.pem"), "x").status, 200);
}

TEST_F(HttpServerTlsTest, ReplacedCertificateServesNewConnectionsWithoutARestart) {
  Start();
  EXPECT_EQ(SendTls(server_->port(), ca_->Path("ca.pem"), "a").peer_cn, "first.openwit.test");
  Install("second");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past reload_interval
  auto r = SendTls(server_->port(), ca_->Path("ca.pem"), "b");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.peer_cn, "second.openwit.test");

  // A pair that does not belong together (a half-done replacement) is not taken: the server keeps
  // serving the pair it has, then takes the completed one.
  fs::copy_file(ca_->Path("first.pem"), ca_->Path("server.pem"), fs::copy_options::overwrite_existing);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r = SendTls(server_->port(), ca_->Path("ca.pem"), "c");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.peer_cn, "second.openwit.test");
  fs::copy_file(ca_->Path("first.key"), ca_->Path("server.key"), fs::copy_options::overwrite_existing);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r = SendTls(server_->port(), ca_->Path("ca.pem"), "d");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.peer_cn, "first.openwit.test");
}

TEST_F(HttpServerTlsTest, AMissingOrBadCertificateFailsTheStart) {
  HttpServer missing(
      {.name = "tls-test", .tls = {.cert_path = ca_->Path("nope.pem"), .key_path = ca_->Path("server.key")}});
  auto s = missing.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("tls-test: TLS certificate"));
  EXPECT_THAT(s.message(), HasSubstr("nope.pem"));
  HttpServer mismatched(
      {.name = "tls-test", .tls = {.cert_path = ca_->Path("first.pem"), .key_path = ca_->Path("second.key")}});
  s = mismatched.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("private key"));
}

}  // namespace
}  // namespace openwit
