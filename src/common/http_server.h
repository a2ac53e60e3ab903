#pragma once
// One HTTP/1.1 stack for every role (Boost.Beast on Asio): /metrics, /health, OTLP/HTTP, search.
// Asynchronous: a handler answers through its responder, now or later from any thread (for example
// once the WAL fsync that covers a batch returned). Connections, body size and time are bounded.
// Optionally HTTPS (TLS 1.2+), with certificates that reload without a restart.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arrow/result.h>

#include "common/metrics.h"

namespace openwit {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query as sent
  std::string path;                            // target without the query
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // A header's value, or "" when absent. `name` in lower case.
  const std::string& Header(const std::string& name) const;
};

// The parameters of a request target's query string ("/p?a=1&b=x%20y" -> {a: "1", b: "x y"}):
// percent-escapes decoded, '+' read as a space, a repeated name keeps its last value, a name
// without '=' has the empty value. A malformed escape stays as written.
std::map<std::string, std::string> QueryParameters(std::string_view target);

// `text` with its percent-escapes decoded and '+' read as a space (a path segment, a parameter).
std::string PercentDecoded(std::string_view text);

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
};

// Call exactly once; later calls are ignored. Safe from any thread, but only while the server runs:
// whoever holds a responder must answer or drop it before HttpServer::Stop().
using HttpResponder = std::function<void(HttpResponse)>;
// Runs on an I/O thread: a handler with CPU work to do moves the request elsewhere (it is its own).
using HttpHandler = std::function<void(HttpRequest, HttpResponder)>;

// HTTPS: the PEM certificate chain and private key. The files are read again when a connection
// arrives `reload_interval` or more after the last look; when their content changed, new
// connections get the new pair (connections already open keep theirs). A pair that does not load
// (half-written, key and certificate apart) is logged once and the pair in service stays.
struct HttpTlsOptions {
  std::string cert_path;  // empty: plain HTTP
  std::string key_path;
  std::chrono::milliseconds reload_interval{60000};
};

struct HttpServerOptions {
  std::string name = "http";  // for logs and errors: "admin", "otlp-http", ...
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: any free port, see HttpServer::port()
  int threads = 1;
  size_t max_connections = 1024;
  size_t max_body_bytes = 16u << 20;
  std::chrono::milliseconds request_timeout{30000};  // reading a request and answering it
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive between requests
  HttpTlsOptions tls = {};                           // plain HTTP unless cert_path is set
  // Where the server reports (connections evicted, TLS reloads and handshake failures): the node's
  // registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes by exact path; a path with no route for the method answers 405, an unknown one 404.
  // A path ending in "/*" routes every path under it ("/api/traces/*" takes "/api/traces/abc")
  // that no exact route takes; the longest such prefix wins.
  void Route(const std::string& method, const std::string& path, HttpHandler handler);

  // Binds and starts serving; fails with a message naming the address when it cannot bind, or the
  // file when the TLS certificate or key does not load.
  arrow::Status Start();
  void Stop();

  int port() const { return port_; }
  bool tls() const { return !options_.tls.cert_path.empty(); }
  const HttpServerOptions& options() const { return options_; }

 private:
  struct Impl;
  HttpServerOptions options_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace openwit
