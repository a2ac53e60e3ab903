#include "search/search_route.h"

#include <nlohmann/json.hpp>

#include "search/query_error.h"

namespace openwit::search {
namespace {

const char* KindName(QueryErrorKind kind) {
  switch (kind) {
    case QueryErrorKind::kBadQuery:
      return "bad_query";
    case QueryErrorKind::kRefused:
      return "refused";
    case QueryErrorKind::kTimeout:
      return "timeout";
    case QueryErrorKind::kBusy:
      return "busy";
    case QueryErrorKind::kMemoryLimit:
      return "memory_limit";
    case QueryErrorKind::kInternal:
      break;
  }
  return "internal";
}

}  // namespace

HttpResponse SearchError(int status, const std::string& kind, const std::string& message) {
  HttpResponse r = HttpResponse::Json(status, nlohmann::json{{"error", message}, {"kind", kind}}.dump(
                                                  -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                                  "\n");
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

HttpResponse SearchError(const arrow::Status& status) {
  QueryErrorKind kind = QueryErrorKindOf(status);
  return SearchError(HttpStatusOf(kind), KindName(kind), status.message());
}

}  // namespace openwit::search
