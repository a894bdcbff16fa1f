// Server: the Service behind Boost.Beast 1.74 (HTTP/1.1, keep-alive), in the shape of Beast's
// examples: a listener accepts connections, one session per connection reads a request, hands it
// to the Service (which knows no sockets), writes the response, and reads the next.
//
// Hardened edges: a header size limit (431), a body limit (413), a deadline for each request to
// arrive in full (`request_timeout_ms`, so a slow-loris client is cut off without holding a thread:
// reads are asynchronous; the same deadline closes an idle keep-alive connection). Any error on a
// connection closes that connection only.
//
// Shutdown (Stop): stop accepting, let requests already read finish and their responses go out,
// then stop the I/O threads; the caller then shuts the Service down (flushing every event).
//
// Beast and Asio types stay in server.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/service.h"

namespace steward::server {

struct ServerOptions {
  // "HOST:PORT"; port 0 picks a free port (Server::port() tells which). Default: 127.0.0.1:8080.
  std::string listen = "127.0.0.1:8080";
  // I/O threads (parse, route, fast handlers: recommend, assign, reads). Default: 2.
  int threads = 2;
  // Threads for handlers that wait on disk (events' durable commit, control actions, audit
  // verification; routes.h `blocking`), so they never hold an I/O thread. Default: 4.
  int blocking_threads = 4;
  // Largest request header. Default: 16 KiB.
  uint32_t max_header_bytes = 16 * 1024;
  // Largest request body (413 beyond). Default: 16 MiB.
  uint64_t max_body_bytes = 16u << 20;
  // A request (headers and body) must arrive within this. Default: 10,000 ms.
  int64_t request_timeout_ms = 10000;
  // On Stop, the longest wait for requests in flight. Default: 10,000 ms.
  int64_t drain_timeout_ms = 10000;
};

class Server {
 public:
  // Binds and listens; Run() serves. Errors: kInvalidArgument for a malformed address,
  // kUnavailable when it cannot bind (the message names the address and the OS error).
  static StatusOr<std::unique_ptr<Server>> Start(Service& service, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  std::string address() const;  // "HOST:PORT" actually bound

  // Serves on `threads` threads (the calling one included) until Stop(); returns after the drain.
  void Run();
  // Thread-safe; returns at once (Run() returns once drained).
  void Stop();

  // Requests being handled now, and totals.
  uint64_t in_flight() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::server
