#pragma once
// One endpoint of the search role, and the error answers every endpoint gives. SearchApi serves
// each route on its query pool after admission (search.max_concurrent_queries) and authentication,
// so a handler only turns (tenant, request) into an answer.

#include <functional>
#include <string>

#include <arrow/status.h>

#include "common/http_server.h"

namespace openwit::search {

struct SearchRoute {
  std::string method;
  std::string path;  // exact, or ending in "/*" for every path under it
  // `tenant` comes from the credentials, never from the request.
  using Handler = std::function<HttpResponse(const std::string& tenant, const HttpRequest& request)>;
  Handler handle;
};

// {"error": message, "kind": kind} with `status`; 503 says Retry-After, 401 WWW-Authenticate.
HttpResponse SearchError(int status, const std::string& kind, const std::string& message);

// The answer to a failed query: its QueryErrorKind's status code and name.
HttpResponse SearchError(const arrow::Status& status);

}  // namespace openwit::search
