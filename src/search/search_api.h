#pragma once
// The search role's HTTP API (issue #13): POST /v1/query.
//
// Request (JSON): {"sql": "...", "start": T, "end": T, "limit": N}; start and end are optional,
// each Unix nanoseconds (a number) or RFC 3339 text ("2023-11-14T22:13:20Z"); files entirely
// before start or at/after end are not read. limit is optional (default and ceiling:
// search.max_result_rows).
// Credentials as for ingestion (Authorization: Bearer KEY or x-api-key: KEY): the tenant comes
// from the key, never from the request.
// Answer: JSON (result_format.h), or an Arrow IPC stream when the request says
// `Accept: application/vnd.apache.arrow.stream` (then the stats travel in the X-OpenWit-Stats
// header, as JSON). A result cut at the row limit says "truncated": true (X-OpenWit-Truncated).
// Errors, as {"error": message, "kind": ...}: 400 bad SQL / unknown column / bad request, 401 no
// or unknown key, 403 a refused statement or path, 408 past search.query_timeout_ms, 422 past
// search.memory_limit_mb, 503 (Retry-After) with search.max_concurrent_queries running.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/http_server.h"
#include "gateway/auth.h"
#include "search/query_engine.h"

namespace arrow::internal {
class ThreadPool;
}

namespace openwit::search {

class SearchApi {
 public:
  SearchApi(QueryEngine* engine, gateway::Authenticator* auth);
  ~SearchApi();

  void Register(HttpServer* server);
  // Waits for the queries in progress (call after the server stopped taking requests).
  void Drain();

 private:
  void Handle(const HttpRequest& request, const HttpResponder& respond);
  void TaskDone();

  QueryEngine* engine_;
  gateway::Authenticator* auth_;
  std::shared_ptr<arrow::internal::ThreadPool> pool_;  // queries never run on the HTTP I/O threads
  std::atomic<int64_t> admitted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t tasks_ = 0;
};

// "start"/"end" of a request: Unix nanoseconds, or RFC 3339 text; Invalid otherwise.
arrow::Result<int64_t> ParseTime(const nlohmann::json& value);

}  // namespace openwit::search
