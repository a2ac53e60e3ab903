#include "search/search_api.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <limits>

#include <arrow/util/thread_pool.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "search/jaeger_api.h"
#include "search/loki_api.h"
#include "search/query_error.h"
#include "search/result_format.h"
#include "search/tempo_api.h"

namespace openwit::search {
namespace {

constexpr const char* kArrowStream = "application/vnd.apache.arrow.stream";

// search.queries's outcome of an answer's status code.
const char* OutcomeOf(int status) {
  switch (status) {
    case 400:
      return "bad_query";
    case 401:
      return "unauthenticated";
    case 403:
      return "refused";
    case 404:
      return "not_found";
    case 408:
      return "timeout";
    case 422:
      return "memory_limit";
    case 503:
      return "busy";
    default:
      return status < 300 ? "ok" : "internal";
  }
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian).
int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}}
      .time_since_epoch()
      .count();
}

}  // namespace

arrow::Result<int64_t> ParseTime(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_string()) return arrow::Status::Invalid("a time is Unix nanoseconds or RFC 3339 text");
  const std::string text = value.get<std::string>();
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 || used != 19 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return arrow::Status::Invalid("\"", text, "\" is not RFC 3339 (2023-11-14T22:13:20.5Z)");
  }
  size_t i = 19;
  int64_t fraction_ns = 0;
  if (i < text.size() && text[i] == '.') {
    int64_t scale = 100000000;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      fraction_ns += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset_s = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || text.size() != i + 6) {
      return arrow::Status::Invalid("\"", text, "\": bad UTC offset");
    }
    offset_s = (text[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else if (i + 1 != text.size() || (text[i] != 'Z' && text[i] != 'z')) {
    return arrow::Status::Invalid("\"", text, "\": RFC 3339 needs Z or an offset at the end");
  }
  int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
  // Unix nanoseconds in an int64 reach from 1677-09-21 to 2262-04-11.
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (seconds < -kMaxSeconds || seconds > kMaxSeconds) {
    return arrow::Status::Invalid("\"", text, "\" is outside the years 1678 to 2261 that nanoseconds reach");
  }
  return seconds * 1000000000 + fraction_ns;
}

arrow::Result<QueryRequest> ParseQueryRequest(std::string_view body_text) {
  auto bad = [](const std::string& message) { return QueryError(QueryErrorKind::kBadQuery, message); };
  nlohmann::json body = nlohmann::json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return bad("the body must be a JSON object: {\"sql\": \"SELECT ...\"}");
  QueryRequest query;
  if (!body.contains("sql") || !body["sql"].is_string()) return bad("\"sql\" (a string) is required");
  query.sql = body["sql"].get<std::string>();
  for (const char* key : {"start", "end"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    auto t = ParseTime(body[key]);
    if (!t.ok()) return bad(fmt::format("\"{}\": {}", key, t.status().message()));
    (std::string(key) == "start" ? query.start_ns : query.end_ns) = *t;
  }
  if (body.contains("limit") && !body["limit"].is_null()) {
    if (!body["limit"].is_number_integer() || body["limit"].get<int64_t>() < 0) {
      return bad("\"limit\" must be a non-negative integer");
    }
    query.limit = body["limit"].get<int64_t>();
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "sql" && key != "start" && key != "end" && key != "limit") {
      return bad(fmt::format("unknown field \"{}\" (known: sql, start, end, limit)", key));
    }
  }
  return query;
}

SearchApi::SearchApi(SearchApiOptions options)
    : engine_(options.engine),
      tenant_of_(std::move(options.tenant_of)),
      metrics_(OwnRegistryIfNone(std::move(options.metrics))),
      pool_(*arrow::internal::ThreadPool::Make(static_cast<int>(engine_->limits().max_concurrent_queries))) {
  for (const char* outcome :
       {"ok", "unauthenticated", "bad_query", "refused", "not_found", "timeout", "busy", "memory_limit", "internal"}) {
    queries_[outcome] =
        &metrics_->Counter("search.queries", "Search queries answered, by outcome", {{"outcome", outcome}});
  }
}

prometheus::Counter& SearchApi::Queries(const std::string& outcome) const { return *queries_.at(outcome); }

SearchApi::~SearchApi() { Drain(); }

void SearchApi::Register(HttpServer* server) {
  std::vector<SearchRoute> routes = TempoRoutes(engine_);
  for (auto& route : JaegerRoutes(engine_)) routes.push_back(std::move(route));
  for (auto& route : LokiRoutes(engine_)) routes.push_back(std::move(route));
  routes.push_back({"POST", "/v1/query", [this](const std::string& tenant, const HttpRequest& request) {
                      return SqlQuery(tenant, request);
                    }});
  for (auto& route : routes) Serve(server, std::move(route));
}

void SearchApi::Serve(HttpServer* server, SearchRoute route) {
  server->Route(
      route.method, route.path, [this, handle = std::move(route.handle)](HttpRequest request, HttpResponder respond) {
        // Admitted here, on the I/O thread: a query over the limit is refused at once instead of
        // waiting in the pool behind the running ones.
        if (admitted_.fetch_add(1) >= engine_->limits().max_concurrent_queries) {
          admitted_.fetch_sub(1);
          Queries("busy").Increment();
          return respond(SearchError(503, "busy",
                                     fmt::format("{} queries are running already (search.max_concurrent_queries): try "
                                                 "again",
                                                 engine_->limits().max_concurrent_queries)));
        }
        {
          std::lock_guard lock(mu_);
          ++tasks_;
        }
        auto spawned = pool_->Spawn([this, handle, request = std::move(request), respond]() mutable {
          {
            // The responder holds the HTTP session: it is released here, before TaskDone(), so that
            // once Drain() returns no session outlives the server it belongs to (the pool may destroy
            // this task's captures only after TaskDone() has woken Drain()).
            HttpResponder responder;
            responder.swap(respond);
            responder(Answer(handle, request));
          }
          admitted_.fetch_sub(1);
          TaskDone();
        });
        if (!spawned.ok()) {
          admitted_.fetch_sub(1);
          respond(HttpResponse::Text(503, "shutting down\n"));
          TaskDone();
        }
      });
}

HttpResponse SearchApi::Answer(const SearchRoute::Handler& handle, const HttpRequest& request) {
  std::string why;
  auto tenant = tenant_of_(request.Header("authorization"), request.Header("x-api-key"), &why);
  HttpResponse response = tenant ? handle(*tenant, request) : SearchError(401, "unauthenticated", why);
  Queries(OutcomeOf(response.status)).Increment();
  if (response.status >= 500 && response.status != 503) {
    spdlog::warn("search: {} {} of {} failed: {}", request.method, request.path, tenant.value_or("?"), response.body);
  }
  return response;
}

void SearchApi::TaskDone() {
  std::lock_guard lock(mu_);
  if (--tasks_ == 0) cv_.notify_all();
}

void SearchApi::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return tasks_ == 0; });
}

HttpResponse SearchApi::SqlQuery(const std::string& tenant, const HttpRequest& request) {
  auto query = ParseQueryRequest(request.body);
  if (!query.ok()) return SearchError(query.status());
  auto result = engine_->Run(tenant, *query);
  if (!result.ok()) return SearchError(result.status());
  const bool arrow_stream = request.Header("accept").find(kArrowStream) != std::string::npos;
  auto encoded = arrow_stream ? ResultArrowStream(*result) : ResultJson(*result);
  if (!encoded.ok()) return SearchError(500, "internal", encoded.status().message());
  HttpResponse r = HttpResponse::Json(200, std::move(*encoded));
  if (arrow_stream) {
    r.content_type = kArrowStream;
    r.headers.emplace_back("X-OpenWit-Stats", StatsJson(result->stats, result->rows).dump());
  }
  r.headers.emplace_back("X-OpenWit-Truncated", result->rows.truncated ? "true" : "false");
  return r;
}

}  // namespace openwit::search
