#include "roles/node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/build_info.h"
#include "common/cluster_token.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "control/control_service.h"
#include "control/node_registry.h"
#include "gateway/batcher.h"
#include "gateway/ingest_client.h"
#include "gateway/kafka_source.h"
#include "gateway/otlp_grpc.h"
#include "gateway/otlp_http.h"
#include "ingest/arrow_convert.h"
#include "ingest/bulk_service.h"
#include "ingest/flight_sender.h"
#include "ingest/ingest_pipeline.h"
#include "search/query_engine.h"
#include "search/search_api.h"
#include "search/storage_fresh_source.h"
#include "storage/flight_server.h"
#include "storage/janitor.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"

namespace openwit {

namespace {

// HttpServer's TLS from a listener's tls block (plain HTTP when off).
HttpTlsOptions HttpTls(const TlsConfig& tls) {
  HttpTlsOptions options;
  if (!tls.enabled) return options;
  options.cert_path = tls.cert_path;
  options.key_path = tls.key_path;
  options.reload_interval = std::chrono::seconds(tls.reload_interval_seconds);
  return options;
}

}  // namespace

arrow::Result<std::vector<std::string>> ParseRoles(const std::string& spec) {
  if (spec == "all") return AllRoles();
  std::vector<std::string> roles;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string role = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (std::find(AllRoles().begin(), AllRoles().end(), role) == AllRoles().end()) {
      return arrow::Status::Invalid("unknown role \"", role, "\"; roles: all, ",
                                    fmt::format("{}", fmt::join(AllRoles(), ", ")));
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
  // This node's metrics, served at /metrics: every object the node builds reports here.
  const std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();
  ClusterToken cluster_token = ClusterToken::Random();

  std::unique_ptr<HttpServer> admin;
  std::unique_ptr<NodeRegistry> registry;
  std::unique_ptr<ControlService> control_service;
  std::unique_ptr<grpc::Server> control_server;
  std::unique_ptr<storage::ObjectStore> lake;
  std::unique_ptr<storage::Metastore> metastore;
  std::unique_ptr<storage::StorageServer> storage_server;
  std::unique_ptr<storage::Janitor> janitor;
  std::unique_ptr<ingest::IngestPipeline> pipeline;
  mutable std::mutex pipeline_mu;  // /health reads the pipeline's stats while Stop may reset it
  std::unique_ptr<ingest::BulkIngestService> bulk_service;
  std::unique_ptr<grpc::Server> ingest_server;
  std::unique_ptr<gateway::BulkIngestClient> ingest_client;
  std::vector<std::unique_ptr<gateway::BulkIngestClient>> kafka_ingest_clients;  // high_performance.num_grpc_clients
  std::unique_ptr<gateway::OtlpHttpReceiver> otlp_http;
  std::unique_ptr<HttpServer> otlp_http_server;
  std::unique_ptr<gateway::OtlpGrpcReceiver> otlp_grpc;
  std::unique_ptr<gateway::Batcher> batcher;
  std::unique_ptr<gateway::KafkaSource> kafka_source;
  std::unique_ptr<gateway::Authenticator> authenticator;
  std::unique_ptr<gateway::QuotaLimiter> quotas;
  std::unique_ptr<search::StorageFreshSource> fresh_source;  // outlives the engine that asks it
  std::unique_ptr<search::LakeCache> search_cache;           // outlives the engine that reads through it
  std::unique_ptr<search::QueryEngine> search_engine;
  std::unique_ptr<search::SearchApi> search_api;
  std::unique_ptr<HttpServer> search_server;

  // Registration with a remote control node.
  std::thread heartbeat;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::atomic<bool> ready{false};  // every role started

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
    j["uptime_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard lock(pipeline_mu);
    if (pipeline) {
      // What the ingest node's dedup window really holds: a retry older than held_seconds is stored again.
      const auto stats = pipeline->stats();
      j["dedup"] = {{"window_seconds", config.processing.dedup_window_seconds},
                    {"held_seconds", stats.dedup_held_seconds},
                    {"keys", stats.dedup_keys},
                    {"max_entries", config.processing.dedup_max_entries},
                    {"evicted", stats.dedup_evicted}};
    }
    return j.dump() + "\n";
  }

  // The cluster token from the config; without one, a random token that only this process knows,
  // which is enough for a process that runs every stage it talks to (`openwit all`). A process that
  // calls, or serves, another process's internal port cannot work that way: it refuses to start
  // and says why, instead of meeting UNAUTHENTICATED on every call later.
  arrow::Status ResolveClusterToken() {
    ARROW_ASSIGN_OR_RAISE(cluster_token, ClusterToken::FromConfig(config.cluster));
    cluster_token.CountRefusalsIn(metrics);  // before the services take their copies
    if (cluster_token.configured()) return arrow::Status::OK();
    std::vector<std::string> peers;
    if (Has("gateway") && !Has("ingest")) peers.push_back("the gateway sends to ingest nodes of other processes");
    if (Has("ingest") && !Has("gateway")) peers.push_back("the ingest node serves gateways of other processes");
    if (Has("ingest") && !Has("storage")) peers.push_back("the ingest node sends to storage nodes of other processes");
    if (Has("storage") && !Has("ingest")) peers.push_back("the storage node serves ingest nodes of other processes");
    if (Has("control") && !(Has("gateway") && Has("ingest") && Has("storage"))) {
      peers.push_back("the control node serves the registrations of other processes");
    }
    if (Has("search") && !Has("storage") && config.search.freshness_seconds > 0 && !config.storage.endpoints.empty()) {
      peers.push_back("the search role asks storage nodes of other processes for records not published yet");
    }
    if (!Has("control") && !config.control.endpoint.empty()) {
      peers.push_back("this node registers with the control node at " + config.control.endpoint);
    }
    if (!peers.empty()) {
      return arrow::Status::Invalid(
          "cluster.token is not set, but ", fmt::format("{}", fmt::join(peers, "; ")),
          ". Internal ports take calls only with the cluster token: set cluster.token (or cluster.token_file) to the "
          "same secret in every process of the cluster (openssl rand -hex 32)");
    }
    spdlog::info(
        "cluster.token not set: a random token guards the internal ports, which take calls from this "
        "process only");
    return arrow::Status::OK();
  }

  arrow::Status StartAdmin() {
    HttpServerOptions options;
    options.name = "admin";
    options.metrics = metrics;
    options.bind = config.admin.bind;
    options.port = static_cast<int>(config.admin.port);
    options.max_body_bytes = 64 * 1024;
    options.tls = HttpTls(config.admin.tls);
    admin = std::make_unique<HttpServer>(options);
    // 503 until every role of this process serves: a load balancer or a test that waits for 200
    // never meets a refused port.
    admin->Route("GET", "/health", [this](const HttpRequest&, HttpResponder respond) {
      if (!ready.load()) {
        respond(
            HttpResponse::Json(503, nlohmann::json{{"status", "starting"}, {"node_id", config.node.id}}.dump() + "\n"));
        return;
      }
      respond(HttpResponse::Json(200, HealthJson()));
    });
    admin->Route("GET", "/metrics", [this](const HttpRequest&, HttpResponder respond) {
      HttpResponse r = HttpResponse::Text(200, metrics->Serialize());
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
    std::string base = fmt::format("{}://{}:{}", admin->tls() ? "https" : "http", config.admin.bind, admin->port());
    endpoints.push_back({"health", base + "/health", "liveness and roles (JSON)"});
    endpoints.push_back({"metrics", base + "/metrics", "Prometheus metrics"});
    if (Has("control")) endpoints.push_back({"nodes", base + "/v1/nodes", "cluster members and their health (JSON)"});
    return arrow::Status::OK();
  }

  arrow::Status StartControl() {
    registry = std::make_unique<NodeRegistry>(std::chrono::milliseconds(config.control.node_timeout_ms));
    control_service = std::make_unique<ControlService>(registry.get(), cluster_token);
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

  // The object store and metastore, shared by the storage and janitor roles of this process.
  arrow::Status OpenLake() {
    if (lake) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(lake, storage::ObjectStore::Open(config.storage.object_store));
    ARROW_ASSIGN_OR_RAISE(metastore, storage::Metastore::Open(config.metastore));
    spdlog::info("lake: {}; metastore: {}", lake->uri_root(), metastore->name());
    return arrow::Status::OK();
  }

  arrow::Status StartStorage() {
    const auto& c = config.storage;
    ARROW_RETURN_NOT_OK(OpenLake());
    storage::StorageOptions options;
    options.local_dir = c.local_dir;
    options.rotate_bytes = c.rotation_max_file_size_mb << 20;
    options.rotate_age = std::chrono::seconds(c.rotation_max_file_age_seconds);
    options.delete_local_after_upload = c.delete_local_after_upload;
    options.lake = lake.get();
    options.metastore = metastore.get();
    options.metrics = metrics;
    options.cluster_token = cluster_token.value();
    ARROW_ASSIGN_OR_RAISE(storage_server,
                          storage::StorageServer::Start(options, c.flight.bind, static_cast<int>(c.flight.port)));
    endpoints.push_back({"storage", fmt::format("{}:{}", c.flight.bind, storage_server->port()),
                         "Arrow Flight DoPut (ingest -> storage), DoGet of unpublished records (-> search); lake: " +
                             lake->uri_root()});
    return arrow::Status::OK();
  }

  arrow::Status StartJanitor() {
    ARROW_RETURN_NOT_OK(OpenLake());
    storage::JanitorOptions options;
    options.interval = std::chrono::seconds(config.janitor.interval_seconds);
    options.retention_days = config.janitor.retention_days;
    ARROW_ASSIGN_OR_RAISE(options.tenant_retention_days, ParseRetentionOverrides(config.janitor.retention_overrides));
    options.metrics = metrics;
    janitor = std::make_unique<storage::Janitor>(std::move(options), lake.get(), metastore.get());
    janitor->Start();
    return arrow::Status::OK();
  }

  arrow::Status StartIngest() {
    ingest::FlightSenderOptions sender;
    sender.endpoints = config.storage.endpoints;
    sender.metrics = metrics;
    sender.cluster_token = cluster_token.value();
    if (sender.endpoints.empty()) {
      if (!storage_server) {
        return arrow::Status::Invalid(
            "storage.endpoints is empty and this process runs no storage role: "
            "list the storage nodes the ingest node sends to");
      }
      sender.endpoints.push_back(fmt::format("{}:{}", config.storage.flight.bind, storage_server->port()));
    }
    ingest::PipelineOptions options;
    options.node_id = config.node.id;
    options.processing = config.processing;
    options.metrics = metrics;
    ARROW_ASSIGN_OR_RAISE(
        pipeline, ingest::IngestPipeline::Open(options, std::make_unique<ingest::FlightSender>(std::move(sender))));
    bulk_service = std::make_unique<ingest::BulkIngestService>(pipeline.get(), cluster_token);
    grpc::ServerBuilder builder;
    int port = 0;
    const auto& listen = config.ingest.listen;
    std::string address = fmt::format("{}:{}", listen.bind, listen.port);
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(static_cast<int>(config.grpc.MaxReceiveBytes()));
    builder.RegisterService(bulk_service.get());
    ingest_server = builder.BuildAndStart();
    if (!ingest_server || port == 0) return arrow::Status::IOError("ingest: cannot listen on ", address);
    endpoints.push_back({"ingest", fmt::format("{}:{}", listen.bind, port),
                         "bulk ingest gRPC (openwit.ingest.v1.BulkIngest; gateway -> ingest)"});
    return arrow::Status::OK();
  }

  arrow::Status StartGateway() {
    // The gateway reaches the ingest stage through the IngestSink seam only: the pipeline of this
    // process, or gRPC clients of the ingest nodes.
    ingest::IngestSink* sink = pipeline.get();
    if (!sink) {
      if (config.ingest.endpoints.empty()) {
        return arrow::Status::Invalid(
            "ingest.endpoints is empty and this process runs no ingest role: "
            "list the ingest nodes the gateway sends to");
      }
      ingest_client = std::make_unique<gateway::BulkIngestClient>(
          config.ingest.endpoints, std::chrono::milliseconds(config.http.upstream.request_timeout_ms),
          static_cast<int>(config.grpc.MaxReceiveBytes()), cluster_token.value(), metrics);
      sink = ingest_client.get();
    }
    if (config.ingestion.sources.kafka.enabled) {
      // The Kafka source batches by the kafka block's batch_size / batch_timeout_ms itself.
      gateway::KafkaSourceOptions kafka;
      kafka.kafka = config.kafka;
      kafka.default_tenant = config.auth.default_tenant;
      kafka.node_id = config.node.id;
      kafka.max_batch_bytes = config.grpc.MaxReceiveBytes() * 8 / 10;
      kafka.metrics = metrics;
      std::vector<ingest::IngestSink*> intakes{sink};
      if (ingest_client && config.kafka.consumer_type == "high_performance") {
        // Its own gRPC clients, each with its own connections: parallel streams to the ingest nodes.
        intakes.clear();
        for (int64_t i = 0; i < config.kafka.high_performance.num_grpc_clients; ++i) {
          kafka_ingest_clients.push_back(std::make_unique<gateway::BulkIngestClient>(
              config.ingest.endpoints, std::chrono::milliseconds(config.http.upstream.request_timeout_ms),
              static_cast<int>(config.grpc.MaxReceiveBytes()), cluster_token.value(), metrics));
          intakes.push_back(kafka_ingest_clients.back().get());
        }
      }
      kafka_source = std::make_unique<gateway::KafkaSource>(std::move(kafka), std::move(intakes));
      ARROW_RETURN_NOT_OK(kafka_source->Start());
      endpoints.push_back({"kafka", fmt::format("{}", fmt::join(config.kafka.brokers, ",")),
                           fmt::format("Kafka source: group {}, topics {}", config.kafka.group_id,
                                       fmt::join(config.kafka.topics, ", "))});
    }
    gateway::BatcherOptions batching;
    batching.batch_size = config.ingestion.batching.batch_size;
    batching.batch_timeout = std::chrono::milliseconds(config.ingestion.batching.batch_timeout_ms);
    batching.max_batch_bytes = config.grpc.MaxReceiveBytes() * 8 / 10;  // headroom, as the guardrail says
    batching.node_id = config.node.id;
    batching.max_in_flight = static_cast<int>(config.ingestion.batching.max_in_flight);
    batching.max_request_cost = config.processing.buffer.max_size_bytes;
    batching.metrics = metrics;
    batcher = std::make_unique<gateway::Batcher>(batching, sink);
    if (!authenticator) authenticator = std::make_unique<gateway::Authenticator>(config.auth);
    quotas = std::make_unique<gateway::QuotaLimiter>(config.quotas);
    if (config.ingestion.sources.grpc.enabled) {
      otlp_grpc = std::make_unique<gateway::OtlpGrpcReceiver>(config, batcher.get(), authenticator.get(), quotas.get(),
                                                              metrics);
      ARROW_RETURN_NOT_OK(otlp_grpc->Start());
      endpoints.push_back({"otlp-grpc", fmt::format("{}:{}", config.grpc.bind, otlp_grpc->port()),
                           config.grpc.tls.enabled ? "OTLP/gRPC over TLS: Logs, Trace and Metrics Export services"
                                                   : "OTLP/gRPC: Logs, Trace and Metrics Export services"});
    }
    if (!config.ingestion.sources.http.enabled) return arrow::Status::OK();
    HttpServerOptions options;
    options.name = "otlp-http";
    options.metrics = metrics;
    options.bind = config.http.bind;
    options.port = static_cast<int>(config.http.port);
    options.threads = 2;
    options.max_connections = static_cast<size_t>(config.http.max_concurrent_requests);
    options.max_body_bytes =
        static_cast<size_t>(std::min(config.http.max_payload_size_mb, config.proxy.http.max_payload_size_mb)) << 20;
    options.request_timeout = std::chrono::milliseconds(config.http.request_timeout_ms);
    options.tls = HttpTls(config.http.tls);
    otlp_http = std::make_unique<gateway::OtlpHttpReceiver>(config.node.id, batcher.get(), authenticator.get(),
                                                            quotas.get(), options.max_body_bytes, metrics);
    otlp_http_server = std::make_unique<HttpServer>(options);
    otlp_http->Register(otlp_http_server.get());
    ARROW_RETURN_NOT_OK(otlp_http_server->Start());
    endpoints.push_back({"otlp-http",
                         fmt::format("{}://{}:{}", otlp_http_server->tls() ? "https" : "http", config.http.bind,
                                     otlp_http_server->port()),
                         "OTLP/HTTP: POST /v1/logs, /v1/traces, /v1/metrics (protobuf or JSON)"});
    return arrow::Status::OK();
  }

  // SQL over the lake (src/search): the same API keys as ingestion say whose files a query reads.
  arrow::Status StartSearch() {
    ARROW_RETURN_NOT_OK(OpenLake());
    search::QueryEngineOptions options;
    options.metastore = metastore.get();
    options.lake_uri_root = lake->uri_root();
    options.limits = config.search;
    for (auto signal : {ingest::Signal::kLogs, ingest::Signal::kTraces, ingest::Signal::kMetrics}) {
      options.schemas[ingest::SignalText(signal)] = ingest::SchemaFor(signal);
    }
    options.scratch_dir = config.node.data_dir + "/search";
    if (lake->uri_root().rfind("file://", 0) != 0) {
      // DuckDB reads local files only: an object-store lake's files come through a bounded cache.
      search::LakeCacheOptions cache;
      cache.store = lake.get();
      cache.dir = config.node.data_dir + "/search/cache";
      cache.max_bytes = config.search.cache_max_mb << 20;
      cache.metrics = metrics;
      ARROW_ASSIGN_OR_RAISE(search_cache, search::LakeCache::Open(std::move(cache)));
      options.cache = search_cache.get();
    }
    if (config.search.freshness_seconds > 0) {
      // Records not published yet come from the storage nodes over Flight (issue #13).
      search::StorageFreshSourceOptions fresh;
      fresh.endpoints = config.storage.endpoints;
      if (fresh.endpoints.empty() && storage_server) {
        fresh.endpoints.push_back(fmt::format("{}:{}", config.storage.flight.bind, storage_server->port()));
      }
      fresh.cluster_token = cluster_token.value();
      fresh.timeout = std::chrono::milliseconds(std::min<int64_t>(config.search.query_timeout_ms, 10000));
      fresh.max_bytes = config.search.memory_limit_mb << 20;
      fresh.metrics = metrics;
      if (fresh.endpoints.empty()) {
        spdlog::warn(
            "search: storage.endpoints is empty and this process runs no storage role: only published files are "
            "searched (search.freshness_seconds is not met)");
      } else {
        fresh_source = std::make_unique<search::StorageFreshSource>(std::move(fresh));
        options.fresh = fresh_source.get();
      }
    }
    ARROW_ASSIGN_OR_RAISE(search_engine, search::QueryEngine::Open(std::move(options)));
    // One authenticator for search and gateway (whichever starts first makes it).
    if (!authenticator) authenticator = std::make_unique<gateway::Authenticator>(config.auth);
    search::SearchApiOptions api;
    api.engine = search_engine.get();
    api.tenant_of = [auth = authenticator.get()](const std::string& authorization, const std::string& api_key,
                                                 std::string* why) {
      return auth->Authenticate(authorization, api_key, why);
    };
    api.metrics = metrics;
    search_api = std::make_unique<search::SearchApi>(std::move(api));
    HttpServerOptions http;
    http.name = "search";
    http.metrics = metrics;
    http.bind = config.search.bind;
    http.port = static_cast<int>(config.search.port);
    http.tls = HttpTls(config.search.tls);
    http.max_connections = 256;
    http.max_body_bytes = 1 << 20;
    // The query's own timeout answers first; this only closes connections that never finish.
    http.request_timeout = std::chrono::milliseconds(config.search.query_timeout_ms + 10000);
    search_server = std::make_unique<HttpServer>(http);
    search_api->Register(search_server.get());
    ARROW_RETURN_NOT_OK(search_server->Start());
    endpoints.push_back(
        {"search",
         fmt::format("{}://{}:{}", search_server->tls() ? "https" : "http", config.search.bind, search_server->port()),
         "SQL over the lake: POST /v1/query (tables logs, spans, metrics); Grafana Tempo: <address>/tempo"});
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
        ctx.AddMetadata(kClusterTokenHeader, cluster_token.value());
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
  auto& build_info = m.metrics->Gauge("openwit.build.info", "Version of this binary",
                                      {{"version", kVersion}, {"arrow", kArrowVersion}});
  build_info.Set(1);
  ARROW_RETURN_NOT_OK(m.ResolveClusterToken());
  if (m.Has("control")) ARROW_RETURN_NOT_OK(m.StartControl());
  ARROW_RETURN_NOT_OK(m.StartAdmin());
  if (m.Has("storage")) ARROW_RETURN_NOT_OK(m.StartStorage());
  if (m.Has("ingest")) ARROW_RETURN_NOT_OK(m.StartIngest());
  if (m.Has("search")) ARROW_RETURN_NOT_OK(m.StartSearch());
  if (m.Has("gateway")) ARROW_RETURN_NOT_OK(m.StartGateway());
  if (m.Has("janitor")) ARROW_RETURN_NOT_OK(m.StartJanitor());
  for (const auto& role : m.roles) {
    if (role != "control" && role != "storage" && role != "ingest" && role != "gateway" && role != "janitor" &&
        role != "search") {
      m.pending.push_back(role);
    }
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
  m.ready = true;
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
  // Upstream first: no new batches, then what ingest holds goes to storage, then storage closes.
  if (m.otlp_grpc) m.otlp_grpc->Stop();
  if (m.otlp_http_server) m.otlp_http_server->Stop();
  if (m.otlp_http) m.otlp_http->Drain();       // requests still decoding reach the batcher before it goes
  if (m.kafka_source) m.kafka_source->Stop();  // waits for in-flight acks, commits them, leaves the group
  m.kafka_source.reset();
  m.kafka_ingest_clients.clear();  // after the source: they wait for their calls in flight
  m.batcher.reset();               // sends what it holds while the ingest side still runs
  if (m.ingest_server) m.ingest_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (m.pipeline) m.pipeline->Stop(std::chrono::seconds(5));
  {
    std::lock_guard lock(m.pipeline_mu);
    m.pipeline.reset();
  }
  if (m.storage_server) m.storage_server->Stop();
  if (m.janitor) m.janitor->Stop();
  m.janitor.reset();
  m.storage_server.reset();
  if (m.search_server) m.search_server->Stop();
  if (m.search_api) m.search_api->Drain();  // queries in progress still read the metastore
  m.search_api.reset();
  m.search_engine.reset();
  m.fresh_source.reset();
  m.lake.reset();  // before the process finalizes Arrow's S3 client
  m.metastore.reset();
  if (m.control_server) m.control_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (m.admin) m.admin->Stop();
}

const std::vector<NodeEndpoint>& Node::endpoints() const { return impl_->endpoints; }
const std::vector<std::string>& Node::pending_roles() const { return impl_->pending; }

}  // namespace openwit
