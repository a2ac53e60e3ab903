#include "common/http_server.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/metrics.h"

namespace openwit {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

const std::string& HttpRequest::Header(const std::string& name) const {
  static const std::string kEmpty;
  auto it = headers.find(name);
  return it == headers.end() ? kEmpty : it->second;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string PercentDecoded(std::string_view text) {
  auto digit = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && digit(text[i + 1]) >= 0 && digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(digit(text[i + 1]) * 16 + digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> QueryParameters(std::string_view target) {
  std::map<std::string, std::string> parameters;
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return parameters;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    parameters[PercentDecoded(pair.substr(0, eq))] =
        eq == std::string_view::npos ? std::string() : PercentDecoded(pair.substr(eq + 1));
  }
  return parameters;
}

namespace {

struct Routes {
  using ByMethod = std::map<std::string, HttpHandler>;
  std::map<std::string, ByMethod> by_path;
  std::map<std::string, ByMethod> by_prefix;  // "/api/traces/" of a route "/api/traces/*"

  const ByMethod* Find(const std::string& path) const {
    if (auto exact = by_path.find(path); exact != by_path.end()) return &exact->second;
    const ByMethod* found = nullptr;
    size_t longest = 0;
    for (const auto& [prefix, methods] : by_prefix) {
      if (prefix.size() >= longest && path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0) {
        found = &methods;
        longest = prefix.size();
      }
    }
    return found;
  }
};

arrow::Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read \"", path, "\"");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The SSL context of the certificate files' present content (HttpTlsOptions says when it is
// looked at again).
class ReloadingSslContext {
 public:
  ReloadingSslContext(HttpTlsOptions options, std::string name, std::shared_ptr<MetricsRegistry> metrics)
      : options_(std::move(options)), name_(std::move(name)), metrics_(std::move(metrics)) {}

  // Loads the pair for the first time: an error names the file.
  arrow::Status Open() {
    ARROW_ASSIGN_OR_RAISE(auto cert, ReadWholeFile(options_.cert_path));
    ARROW_ASSIGN_OR_RAISE(auto key, ReadWholeFile(options_.key_path));
    ARROW_ASSIGN_OR_RAISE(context_, Load(cert, key));
    cert_pem_ = std::move(cert);
    key_pem_ = std::move(key);
    next_check_ = std::chrono::steady_clock::now() + options_.reload_interval;
    return arrow::Status::OK();
  }

  // The context for a new connection: the files' content when it changed since the last look.
  std::shared_ptr<ssl::context> Current() {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return context_;
    next_check_ = now + options_.reload_interval;
    auto cert = ReadWholeFile(options_.cert_path);
    auto key = ReadWholeFile(options_.key_path);
    if (!cert.ok() || !key.ok()) {
      Failed(cert.ok() ? key.status() : cert.status(), "");
      return context_;
    }
    if (*cert == cert_pem_ && *key == key_pem_) return context_;
    auto loaded = Load(*cert, *key);
    if (!loaded.ok()) {
      Failed(loaded.status(), *cert + *key);
      return context_;
    }
    context_ = std::move(*loaded);
    cert_pem_ = std::move(*cert);
    key_pem_ = std::move(*key);
    failed_.clear();
    metrics_
        ->Counter("tls.certificate.reloads", "Certificate pairs loaded again after their files changed",
                  {{"listener", name_}})
        .Increment();
    spdlog::info("{}: TLS certificate {} reloaded; new connections use it", name_, options_.cert_path);
    return context_;
  }

 private:
  static arrow::Result<std::shared_ptr<ssl::context>> Load(const std::string& cert, const std::string& key) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                         ec);
    if (!ec) context->use_certificate_chain(net::buffer(cert), ec);
    if (ec) return arrow::Status::Invalid("certificate: ", ec.message());
    context->use_private_key(net::buffer(key), ssl::context::pem, ec);
    if (ec) return arrow::Status::Invalid("private key: ", ec.message());
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      return arrow::Status::Invalid("the private key does not belong to the certificate");
    }
    return context;
  }

  // Logged once per failing content; the pair in service stays.
  void Failed(const arrow::Status& status, const std::string& content) {
    if (!failed_.empty() && failed_ == content + status.message()) return;
    failed_ = content + status.message();
    metrics_
        ->Counter("tls.certificate.reload_failures", "Changed certificate pairs that did not load (the old one stays)",
                  {{"listener", name_}})
        .Increment();
    spdlog::warn("{}: TLS certificate {} / key {} changed but do not load ({}); still serving the previous pair", name_,
                 options_.cert_path, options_.key_path, status.message());
  }

  const HttpTlsOptions options_;
  const std::string name_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  std::mutex mu_;
  std::shared_ptr<ssl::context> context_;
  std::string cert_pem_, key_pem_;  // what context_ was made of
  std::string failed_;              // the last content that failed to load, with its error
  std::chrono::steady_clock::time_point next_check_{};
};

// A connection the server may close to make room for a new one.
struct Evictable {
  virtual ~Evictable() = default;
  virtual void Evict() = 0;
};

// Connections waiting for their client to send something (a TLS handshake, a first request, the
// next one on a keep-alive connection), longest-waiting first. At the connection limit a new
// connection closes the one that has waited longest instead of being refused, so thousands of idle
// connections cannot lock everyone else out, and a connection whose request is being handled is
// never closed for an idle one.
class WaitingConnections {
 public:
  struct Entry {
    std::weak_ptr<Evictable> connection;
    std::optional<std::list<Entry>::iterator>* slot;  // the connection's own record of its place
  };
  using Slot = std::optional<std::list<Entry>::iterator>;

  void Add(std::weak_ptr<Evictable> connection, Slot* slot) {
    std::lock_guard lock(mu_);
    if (*slot) waiting_.erase(**slot);
    *slot = waiting_.insert(waiting_.end(), Entry{std::move(connection), slot});
  }
  void Remove(Slot* slot) {
    std::lock_guard lock(mu_);
    if (*slot) waiting_.erase(**slot);
    slot->reset();
  }
  // Closes the connection that has waited longest; false when none waits.
  bool EvictOldest() {
    std::shared_ptr<Evictable> victim;
    {
      std::lock_guard lock(mu_);
      while (!victim && !waiting_.empty()) {
        Entry& oldest = waiting_.front();
        victim = oldest.connection.lock();
        oldest.slot->reset();
        waiting_.pop_front();
      }
    }
    if (victim) victim->Evict();
    return victim != nullptr;
  }

 private:
  std::mutex mu_;
  std::list<Entry> waiting_;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection, plain or TLS (the TLS one first shakes hands, and at the end sends close_notify).
template <class Stream>
class Session : public Evictable, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(tcp::socket socket, std::shared_ptr<ssl::context> tls, const HttpServerOptions& options,
          std::shared_ptr<const Routes> routes, std::atomic<size_t>* connections, WaitingConnections* waiting)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        options_(options),
        routes_(std::move(routes)),
        connections_(connections),
        waiting_(waiting) {}

  ~Session() {
    waiting_->Remove(&waiting_slot_);
    connections_->fetch_sub(1);
  }

  void Evict() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->options_.metrics
          ->Counter("http.connections.evicted", "Idle connections closed to make room for a new one",
                    {{"listener", self->options_.name}})
          .Increment();
      beast::error_code ignored;
      self->Lowest().socket().close(ignored);
    });
  }

  // Serves the connection; with `refuse`, answers 503 (over the connection limit) and closes it.
  void Start(bool refuse) {
    if (!refuse) waiting_->Add(this->weak_from_this(), &waiting_slot_);
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this(), refuse] {
      if constexpr (kTls) {
        self->Handshake(refuse);
      } else {
        refuse ? self->Refuse() : self->Read();
      }
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Handshake(bool refuse) {
    Lowest().expires_after(options_.request_timeout);
    stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this(), refuse](beast::error_code ec) {
      self->waiting_->Remove(&self->waiting_slot_);
      if (ec) {
        // A plain-HTTP request, a client that distrusts the certificate, a scan.
        self->options_.metrics
            ->Counter("http.tls.handshake_failures", "TLS handshakes that failed", {{"listener", self->options_.name}})
            .Increment();
        spdlog::debug("{}: TLS handshake failed: {}", self->options_.name, ec.message());
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
        return;
      }
      refuse ? self->Refuse() : self->Read();
    });
  }

  void Refuse() {
    keep_alive_ = false;
    HttpResponse r = HttpResponse::Text(503, "too many connections\n");
    r.headers.emplace_back("Retry-After", "1");
    Write(std::move(r), 11);
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    Lowest().expires_after(first_request_ ? options_.request_timeout : options_.idle_timeout);
    waiting_->Add(this->weak_from_this(), &waiting_slot_);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    waiting_->Remove(&waiting_slot_);
    first_request_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::eof || ec == ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return Write(
          HttpResponse::Text(413, "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes\n"),
          11);
    }
    if (ec) {
      keep_alive_ = false;
      return Write(HttpResponse::Text(400, "malformed HTTP request: " + ec.message() + "\n"), 11);
    }
    auto& msg = parser_->get();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    HttpRequest request;
    request.method = std::string(msg.method_string());
    request.target = std::string(msg.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(msg.body());

    const Routes::ByMethod* methods = routes_->Find(request.path);
    if (methods == nullptr) {
      return Write(HttpResponse::Text(404, "no such endpoint: " + request.path + "\n"), version_);
    }
    auto method_it = methods->find(request.method);
    if (method_it == methods->end()) {
      std::string allowed;
      for (const auto& [m, h] : *methods) allowed += (allowed.empty() ? "" : ", ") + m;
      HttpResponse r = HttpResponse::Text(405, request.method + " not allowed on " + request.path + "\n");
      r.headers.emplace_back("Allow", allowed);
      return Write(std::move(r), version_);
    }
    // The request deadline covers the handler: a handler that never answers closes the connection.
    Lowest().expires_after(options_.request_timeout);
    auto answered = std::make_shared<std::atomic<bool>>(false);
    HttpResponder responder = [self = this->shared_from_this(), answered](HttpResponse response) {
      if (answered->exchange(true)) return;
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), self->version_);
      });
    };
    method_it->second(std::move(request), std::move(responder));
  }

  void Write(HttpResponse r, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, "openwit");
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    Lowest().expires_after(options_.request_timeout);
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_ || !res->keep_alive()) return self->Close();
      self->Read();
    });
  }

  // Lingering close: after our half-close we read and discard what the client is still sending (a body we
  // refused with 413, say) so that it reads our answer instead of a connection reset; bounded in time and bytes.
  // TLS first says close_notify (bounded by the same deadline), then lingers on the TCP connection beneath.
  void Close() {
    Lowest().expires_after(std::chrono::seconds(5));
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->HalfCloseAndLinger(); });
    } else {
      HalfCloseAndLinger();
    }
  }

  void HalfCloseAndLinger() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Linger();
  }

  void Linger() {
    if (!linger_buffer_) linger_buffer_ = std::make_unique<char[]>(kLingerChunk);
    Lowest().async_read_some(net::buffer(linger_buffer_.get(), kLingerChunk),
                             [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                               self->lingered_ += n;
                               if (ec || self->lingered_ > kLingerMaxBytes) {
                                 beast::error_code ignored;
                                 self->Lowest().socket().close(ignored);
                                 return;
                               }
                               self->Linger();
                             });
  }

  static constexpr size_t kLingerChunk = 64 * 1024;
  static constexpr size_t kLingerMaxBytes = 256u << 20;
  std::unique_ptr<char[]> linger_buffer_;
  size_t lingered_ = 0;

  std::shared_ptr<ssl::context> tls_;  // before stream_: the TLS stream refers to it
  Stream stream_;
  const HttpServerOptions& options_;
  std::shared_ptr<const Routes> routes_;
  std::atomic<size_t>* connections_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  WaitingConnections* waiting_;
  WaitingConnections::Slot waiting_slot_;  // guarded by waiting_'s mutex
  bool keep_alive_ = true;
  bool first_request_ = true;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  // Before ioc: sessions still queued in ioc count down and leave the waiting list on destruction.
  std::atomic<size_t> connections{0};
  WaitingConnections waiting;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::shared_ptr<Routes> routes = std::make_shared<Routes>();
  std::unique_ptr<ReloadingSslContext> tls;  // HTTPS when set
  std::vector<std::thread> threads;
  bool running = false;

  void Accept(const HttpServerOptions& options) {
    acceptor.async_accept(net::make_strand(ioc), [this, &options](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        // Over the limit: the connection that has waited longest for its client makes room; with
        // every connection busy, the new one is answered 503.
        bool refuse = connections.fetch_add(1) + 1 > options.max_connections && !waiting.EvictOldest();
        if (tls) {
          std::make_shared<Session<TlsStream>>(std::move(socket), tls->Current(), options, routes, &connections,
                                               &waiting)
              ->Start(refuse);
        } else {
          std::make_shared<Session<PlainStream>>(std::move(socket), nullptr, options, routes, &connections, &waiting)
              ->Start(refuse);
        }
      }
      Accept(options);
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  options_.metrics = OwnRegistryIfNone(std::move(options_.metrics));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, HttpHandler handler) {
  if (path.size() >= 2 && path.compare(path.size() - 2, 2, "/*") == 0) {
    impl_->routes->by_prefix[path.substr(0, path.size() - 1)][method] = std::move(handler);
  } else {
    impl_->routes->by_path[path][method] = std::move(handler);
  }
}

arrow::Status HttpServer::Start() {
  if (!options_.tls.cert_path.empty()) {
    impl_->tls = std::make_unique<ReloadingSslContext>(options_.tls, options_.name, options_.metrics);
    if (auto s = impl_->tls->Open(); !s.ok()) {
      return arrow::Status::Invalid(options_.name, ": TLS certificate ", options_.tls.cert_path, " / key ",
                                    options_.tls.key_path, ": ", s.message());
    }
  }
  beast::error_code ec;
  auto address = net::ip::make_address(options_.bind, ec);
  if (ec) return arrow::Status::Invalid(options_.name, ": bad listen address \"", options_.bind, "\": ", ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return arrow::Status::IOError(options_.name, ": cannot listen on ", options_.bind, ":", options_.port, ": ",
                                  ec.message());
  }
  port_ = acceptor.local_endpoint().port();
  impl_->Accept(options_);
  impl_->running = true;
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  spdlog::debug("{}: listening on {}:{}{}", options_.name, options_.bind, port_, impl_->tls ? " (TLS)" : "");
  return arrow::Status::OK();
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->running) return;
  impl_->running = false;
  net::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace openwit
