// Plain HTTP request and response values: what the request handler (service.h) sees and returns.
// No sockets and no Beast types, so the handler is unit-tested by calling it directly; the Beast
// session (server.h) converts to and from these.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace steward::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/audit?after_seq=10&limit=5"
  std::string authorization;  // the Authorization header ("" when absent)
  std::string content_type;
  std::string if_none_match;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, ETag, ...)
};

}  // namespace steward::server
