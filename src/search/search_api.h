#pragma once
// The search role's HTTP API (issue #13): POST /v1/query here, the Tempo API (tempo_api.h), the
// Jaeger API (jaeger_api.h) and the Loki API (loki_api.h); every endpoint is a SearchRoute served on the query pool
// after admission and authentication, and counted in search.queries{outcome}.
//
// Request (JSON): {"sql": "...", "start": T, "end": T, "limit": N}; start and end are optional,
// each Unix nanoseconds (a number) or RFC 3339 text ("2023-11-14T22:13:20Z"); files entirely
// before start or at/after end are not read. limit is optional (default and ceiling:
// search.max_result_rows).
// Credentials as for ingestion (Authorization: Bearer KEY or x-api-key: KEY): the tenant comes
// from the key, never from the request. Which key is whose is the node's to say (SearchApiOptions::
// tenant_of; the node asks the gateway's Authenticator): the search stage knows no gateway.
// Answer: JSON (result_format.h), or an Arrow IPC stream when the request says
// `Accept: application/vnd.apache.arrow.stream` (then the stats travel in the X-OpenWit-Stats
// header, as JSON). A result cut at the row limit says "truncated": true (X-OpenWit-Truncated).
// Errors, as {"error": message, "kind": ...}: 400 bad SQL / unknown column / bad request, 401 no
// or unknown key, 403 a refused statement or path, 408 past search.query_timeout_ms, 422 past
// search.memory_limit_mb, 503 (Retry-After) with search.max_concurrent_queries running.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/http_server.h"
#include "common/metrics.h"
#include "search/query_engine.h"
#include "search/search_route.h"

namespace arrow::internal {
class ThreadPool;
}

namespace openwit::search {

// The tenant of a request's credentials (its Authorization and x-api-key headers, either may be
// empty), or nullopt with `why` set.
using TenantOf = std::function<std::optional<std::string>(const std::string& authorization, const std::string& api_key,
                                                          std::string* why)>;

struct SearchApiOptions {
  QueryEngine* engine = nullptr;
  TenantOf tenant_of;
  // search.queries{outcome}; none given: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
};

class SearchApi {
 public:
  explicit SearchApi(SearchApiOptions options);
  ~SearchApi();

  void Register(HttpServer* server);
  // Waits for the queries in progress (call after the server stopped taking requests); once it
  // returns, no query holds a session of the server, which may then be destroyed.
  void Drain();

 private:
  // Serves the route on the query pool: admission, then Answer().
  void Serve(HttpServer* server, SearchRoute route);
  // The tenant of the request's credentials, the handler's answer (401 without), counted.
  HttpResponse Answer(const SearchRoute::Handler& handle, const HttpRequest& request);
  // POST /v1/query.
  HttpResponse SqlQuery(const std::string& tenant, const HttpRequest& request);
  void TaskDone();
  // search.queries with this outcome (every outcome is looked up once, at construction).
  prometheus::Counter& Queries(const std::string& outcome) const;

  QueryEngine* engine_;
  const TenantOf tenant_of_;
  const std::shared_ptr<MetricsRegistry> metrics_;
  std::map<std::string, prometheus::Counter*> queries_;  // by outcome
  std::shared_ptr<arrow::internal::ThreadPool> pool_;    // queries never run on the HTTP I/O threads
  std::atomic<int64_t> admitted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t tasks_ = 0;
};

// "start"/"end" of a request: Unix nanoseconds, or RFC 3339 text; Invalid otherwise.
arrow::Result<int64_t> ParseTime(const nlohmann::json& value);

// The request of POST /v1/query (its JSON body, above); errors are QueryError kBadQuery naming the
// field.
arrow::Result<QueryRequest> ParseQueryRequest(std::string_view body);

}  // namespace openwit::search
