#pragma once
// A small blocking HTTP/1.1 client (Boost.Beast, like the server) for the command line: `openwit
// query`, `trace` and `tail` talk to a search node with it. http:// and https:// (the peer's
// certificate checked against the system's CAs, or against `ca_file` when given).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>

namespace openwit {

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{60000};  // connecting, sending and reading the answer
  std::string ca_file;                       // https: PEM CA bundle; empty: the system's
};

struct HttpClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One request on a fresh connection. IOError when the server cannot be reached or the exchange
// fails (naming the URL), Invalid for a URL that is not http(s)://HOST[:PORT][/PATH].
arrow::Result<HttpClientResponse> HttpCall(const HttpClientRequest& request);

}  // namespace openwit
