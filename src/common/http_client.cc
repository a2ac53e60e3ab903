#include "common/http_client.h"

#include <unistd.h>

#include <cstdlib>

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace openwit {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};

arrow::Result<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return arrow::Status::Invalid("\"", url, "\" is not an http:// or https:// URL");
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {  // [::1]:7280
    const size_t close = authority.find(']');
    if (close == std::string::npos) return arrow::Status::Invalid("\"", url, "\": unclosed [ in the host");
    u.host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() == ':') u.port = authority.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return arrow::Status::Invalid("\"", url, "\" names no host");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  return u;
}

// The exchange over any stream (a TCP socket, or TLS over one).
template <class Stream>
void Exchange(Stream& stream, const Url& url, const HttpClientRequest& request, HttpClientResponse* out) {
  http::request<http::string_body> req{http::string_to_verb(request.method), url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "openwit-cli");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  out->status = static_cast<int>(res.result_int());
  out->content_type = std::string(res[http::field::content_type]);
  out->body = std::move(res.body());
}

constexpr const char* kSystemCaBundles[] = {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                                            "/etc/ssl/cert.pem"};

// SSL_CERT_FILE, else the first of the usual system bundles that exists; "" when none does.
std::string SystemCaBundle() {
  if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env) return env;
  for (const char* path : kSystemCaBundles) {
    if (::access(path, R_OK) == 0) return path;
  }
  return "";
}

}  // namespace

arrow::Result<HttpClientResponse> HttpCall(const HttpClientRequest& request) {
  ARROW_ASSIGN_OR_RAISE(Url url, ParseUrl(request.url));
  HttpClientResponse out;
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(url.host, url.port);
    if (!url.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(request.timeout);
      stream.connect(endpoints);
      Exchange(stream, url, request, &out);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    } else {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      ctx.set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      // The system's bundle as a file: set_default_verify_paths() goes through OpenSSL's store
      // loaders, which crash in this process (a null loader once gRPC and Arrow are linked in).
      const std::string ca_file = !request.ca_file.empty() ? request.ca_file : SystemCaBundle();
      if (ca_file.empty()) {
        return arrow::Status::IOError(request.url, ": no CA bundle found (SSL_CERT_FILE, ", kSystemCaBundles[0],
                                      "): give the node's CA as a PEM file");
      }
      ctx.load_verify_file(ca_file);
      ctx.set_verify_mode(asio::ssl::verify_peer);
      beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        return arrow::Status::IOError(request.url, ": cannot set the TLS server name");
      }
      stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
      beast::get_lowest_layer(stream).expires_after(request.timeout);
      beast::get_lowest_layer(stream).connect(endpoints);
      stream.handshake(asio::ssl::stream_base::client);
      Exchange(stream, url, request, &out);
      beast::error_code ignored;
      stream.shutdown(ignored);  // a peer that just closes is fine: the answer is complete
    }
  } catch (const boost::system::system_error& e) {
    return arrow::Status::IOError(request.method, " ", request.url, ": ", e.code().message());
  }
  return out;
}

}  // namespace openwit
