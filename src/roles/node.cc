#include "roles/node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/build_info.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "control/control_service.h"
#include "control/node_registry.h"

namespace openwit {

arrow::Result<std::vector<std::string>> ParseRoles(const std::string& spec) {
  if (spec == "all") return AllRoles();
  std::vector<std::string> roles;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string role = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (std::find(AllRoles().begin(), AllRoles().end(), role) == AllRoles().end()) {
      return arrow::Status::Invalid("unknown role \"", role, "\"; roles: all, ", fmt::format("{}", fmt::join(AllRoles(), ", ")));
    }
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return roles;
}

struct Node::Impl {
  Config config;
  std::vector<std::string> roles;
  std::vector<std::string> pending;
  std::vector<NodeEndpoint> endpoints;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::unique_ptr<HttpServer> admin;
  std::unique_ptr<NodeRegistry> registry;
  std::unique_ptr<ControlService> control_service;
  std::unique_ptr<grpc::Server> control_server;

  // Registration with a remote control node.
  std::thread heartbeat;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  bool Has(const std::string& role) const { return std::find(roles.begin(), roles.end(), role) != roles.end(); }

  control::v1::NodeInfo Info() const {
    control::v1::NodeInfo info;
    info.set_node_id(config.node.id);
    for (const auto& r : roles) info.add_roles(r);
    info.set_version(kVersion);
    for (const auto& e : endpoints) (*info.mutable_endpoints())[e.name] = e.address;
    return info;
  }

  std::string HealthJson() const {
    nlohmann::json j;
    j["status"] = "ok";
    j["node_id"] = config.node.id;
    j["roles"] = roles;
    j["roles_without_data_path"] = pending;
    j["version"] = kVersion;
    j["uptime_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return j.dump() + "\n";
  }

  arrow::Status StartAdmin() {
    HttpServerOptions options;
    options.name = "admin";
    options.bind = config.admin.bind;
    options.port = static_cast<int>(config.admin.port);
    options.max_body_bytes = 64 * 1024;
    admin = std::make_unique<HttpServer>(options);
    admin->Route("GET", "/health", [this](const HttpRequest&, HttpResponder respond) {
      respond(HttpResponse::Json(200, HealthJson()));
    });
    admin->Route("GET", "/metrics", [](const HttpRequest&, HttpResponder respond) {
      HttpResponse r = HttpResponse::Text(200, MetricsRegistry::Default().Serialize());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      respond(std::move(r));
    });
    if (Has("control")) {
      admin->Route("GET", "/v1/nodes", [this](const HttpRequest&, HttpResponder respond) {
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& s : registry->List("")) {
          nlohmann::json n;
          n["node_id"] = s.node().node_id();
          n["roles"] = std::vector<std::string>(s.node().roles().begin(), s.node().roles().end());
          n["endpoints"] = std::map<std::string, std::string>(s.node().endpoints().begin(), s.node().endpoints().end());
          n["version"] = s.node().version();
          n["healthy"] = s.healthy();
          n["last_seen_unix_ms"] = s.last_seen_unix_ms();
          nodes.push_back(std::move(n));
        }
        respond(HttpResponse::Json(200, nlohmann::json{{"nodes", nodes}}.dump() + "\n"));
      });
    }
    ARROW_RETURN_NOT_OK(admin->Start());
    std::string base = fmt::format("http://{}:{}", config.admin.bind, admin->port());
    endpoints.push_back({"health", base + "/health", "liveness and roles (JSON)"});
    endpoints.push_back({"metrics", base + "/metrics", "Prometheus metrics"});
    if (Has("control")) endpoints.push_back({"nodes", base + "/v1/nodes", "cluster members and their health (JSON)"});
    return arrow::Status::OK();
  }

  arrow::Status StartControl() {
    registry = std::make_unique<NodeRegistry>(std::chrono::milliseconds(config.control.node_timeout_ms));
    control_service = std::make_unique<ControlService>(registry.get());
    grpc::ServerBuilder builder;
    int port = 0;
    std::string address = fmt::format("{}:{}", config.control.listen.bind, config.control.listen.port);
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(control_service.get());
    control_server = builder.BuildAndStart();
    if (!control_server || port == 0) {
      return arrow::Status::IOError("control: cannot listen on ", address, " (address in use or not local?)");
    }
    endpoints.push_back({"control", fmt::format("{}:{}", config.control.listen.bind, port),
                         "control plane gRPC (openwit.control.v1.Control)"});
    return arrow::Status::OK();
  }

  // Registers with control.endpoint and heartbeats until Stop(); re-registers when forgotten.
  void StartHeartbeat() {
    heartbeat = std::thread([this] {
      auto channel = grpc::CreateChannel(config.control.endpoint, grpc::InsecureChannelCredentials());
      auto stub = control::v1::Control::NewStub(channel);
      bool registered = false;
      auto interval = std::chrono::milliseconds(config.control.heartbeat_interval_ms);
      std::unique_lock lock(mu);
      while (!stopping) {
        lock.unlock();
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + interval);
        grpc::Status status;
        if (!registered) {
          control::v1::RegisterRequest req;
          *req.mutable_node() = Info();
          control::v1::RegisterResponse resp;
          status = stub->Register(&ctx, req, &resp);
          registered = status.ok();
          if (registered) spdlog::info("registered with control node {}", config.control.endpoint);
        } else {
          control::v1::HeartbeatRequest req;
          req.set_node_id(config.node.id);
          control::v1::HeartbeatResponse resp;
          status = stub->Heartbeat(&ctx, req, &resp);
          if (status.ok() && !resp.known()) registered = false;
        }
        if (!status.ok()) {
          spdlog::warn("control node {} unreachable: {}", config.control.endpoint, status.error_message());
          registered = false;
        }
        lock.lock();
        cv.wait_for(lock, interval, [this] { return stopping; });
      }
    });
  }
};

Node::Node(Config config, std::vector<std::string> roles) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->roles = std::move(roles);
}

Node::~Node() { Stop(); }

arrow::Status Node::Start() {
  auto& m = *impl_;
  auto& build_info = MetricsRegistry::Default().Gauge("openwit.build.info", "Version of this binary",
                                                      {{"version", kVersion}, {"arrow", kArrowVersion}});
  build_info.Set(1);
  if (m.Has("control")) ARROW_RETURN_NOT_OK(m.StartControl());
  ARROW_RETURN_NOT_OK(m.StartAdmin());
  for (const auto& role : m.roles) {
    if (role != "control") m.pending.push_back(role);
  }
  if (!m.pending.empty()) {
    spdlog::warn("roles without a data path in this build yet: {} (they answer /health and /metrics only)",
                 fmt::join(m.pending, ", "));
  }
  if (m.registry) {
    m.registry->Register(m.Info());  // this process knows itself
  } else if (!m.config.control.endpoint.empty()) {
    m.StartHeartbeat();
  }
  return arrow::Status::OK();
}

void Node::Stop() {
  auto& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.stopping) return;
    m.stopping = true;
  }
  m.cv.notify_all();
  if (m.heartbeat.joinable()) m.heartbeat.join();
  if (m.control_server) m.control_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (m.admin) m.admin->Stop();
}

const std::vector<NodeEndpoint>& Node::endpoints() const { return impl_->endpoints; }
const std::vector<std::string>& Node::pending_roles() const { return impl_->pending; }

}  // namespace openwit
