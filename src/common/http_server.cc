#include "common/http_server.h"

#include <chrono>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace openwit {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
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

namespace {

struct Routes {
  // path -> method -> handler
  std::map<std::string, std::map<std::string, HttpHandler>> by_path;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, std::shared_ptr<const Routes> routes,
          std::atomic<size_t>* connections)
      : stream_(std::move(socket)), options_(options), routes_(std::move(routes)), connections_(connections) {}

  ~Session() { connections_->fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Refuses a connection over the limit with 503 and closes it.
  void Refuse() {
    auto self = shared_from_this();
    net::dispatch(stream_.get_executor(), [self] {
      self->keep_alive_ = false;
      HttpResponse r = HttpResponse::Text(503, "too many connections\n");
      r.headers.emplace_back("Retry-After", "1");
      self->Write(std::move(r), 11);
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(first_request_ ? options_.request_timeout : options_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    first_request_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::eof) {
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

    auto path_it = routes_->by_path.find(request.path);
    if (path_it == routes_->by_path.end()) {
      return Write(HttpResponse::Text(404, "no such endpoint: " + request.path + "\n"), version_);
    }
    auto method_it = path_it->second.find(request.method);
    if (method_it == path_it->second.end()) {
      std::string allowed;
      for (const auto& [m, h] : path_it->second) allowed += (allowed.empty() ? "" : ", ") + m;
      HttpResponse r = HttpResponse::Text(405, request.method + " not allowed on " + request.path + "\n");
      r.headers.emplace_back("Allow", allowed);
      return Write(std::move(r), version_);
    }
    // The request deadline covers the handler: a handler that never answers closes the connection.
    stream_.expires_after(options_.request_timeout);
    auto answered = std::make_shared<std::atomic<bool>>(false);
    HttpResponder responder = [self = shared_from_this(), answered](HttpResponse response) {
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
    stream_.expires_after(options_.request_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_ || !res->keep_alive()) return self->Close();
      self->Read();
    });
  }

  // Lingering close: after our half-close we read and discard what the client is still sending (a body we
  // refused with 413, say) so that it reads our answer instead of a connection reset; bounded in time and bytes.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    Linger();
  }

  void Linger() {
    if (!linger_buffer_) linger_buffer_ = std::make_unique<char[]>(kLingerChunk);
    stream_.async_read_some(net::buffer(linger_buffer_.get(), kLingerChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerMaxBytes) {
                                beast::error_code ignored;
                                self->stream_.socket().close(ignored);
                                return;
                              }
                              self->Linger();
                            });
  }

  static constexpr size_t kLingerChunk = 64 * 1024;
  static constexpr size_t kLingerMaxBytes = 256u << 20;
  std::unique_ptr<char[]> linger_buffer_;
  size_t lingered_ = 0;

  beast::tcp_stream stream_;
  const HttpServerOptions& options_;
  std::shared_ptr<const Routes> routes_;
  std::atomic<size_t>* connections_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool first_request_ = true;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  std::atomic<size_t> connections{0};  // before ioc: sessions still queued in ioc count down on destruction
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::shared_ptr<Routes> routes = std::make_shared<Routes>();
  std::vector<std::thread> threads;
  bool running = false;

  void Accept(const HttpServerOptions& options) {
    acceptor.async_accept(net::make_strand(ioc), [this, &options](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        size_t active = connections.fetch_add(1) + 1;
        auto session = std::make_shared<Session>(std::move(socket), options, routes, &connections);
        if (active > options.max_connections)
          session->Refuse();
        else
          session->Start();
      }
      Accept(options);
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path, HttpHandler handler) {
  impl_->routes->by_path[path][method] = std::move(handler);
}

arrow::Status HttpServer::Start() {
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
  spdlog::debug("{}: listening on {}:{}", options_.name, options_.bind, port_);
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
