#include "search/search_route.h"

#include <nlohmann/json.hpp>

#include "search/query_error.h"

namespace openwit::search {

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
  return SearchError(HttpStatusOf(kind), QueryErrorKindName(kind), status.message());
}

}  // namespace openwit::search
