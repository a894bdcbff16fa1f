// HttpClient: a small blocking HTTP/1.1 client with keep-alive, for Steward's own tools that talk
// to a running service (`steward demo --url`, tests). One connection; not thread-safe (one per
// thread). Beast stays in client.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/http.h"

namespace steward::server {

class HttpClient {
 public:
  // `url`: "http://HOST:PORT" (no path). `token`: sent as "Authorization: Bearer TOKEN" ("" for none).
  // Errors: kInvalidArgument for a malformed URL.
  static StatusOr<std::unique_ptr<HttpClient>> Create(const std::string& url, const std::string& token, int64_t timeout_ms = 30000);
  ~HttpClient();

  // Sends one request and reads the response (any status). Reconnects once if the kept-alive
  // connection was closed by the server. Errors: kUnavailable when the server cannot be reached.
  StatusOr<HttpResponse> Send(const std::string& method, const std::string& target, const std::string& body = "",
                              const std::string& content_type = "application/json");

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::server
