#include "server/server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "common/log.h"
#include "server/routes.h"

namespace steward::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Shared {
  Service* service = nullptr;
  std::unique_ptr<net::thread_pool> blocking;  // handlers that wait on disk
  ServerOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> in_flight{0};
};

// One connection: read a request, answer it, repeat while keep-alive holds.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared) : stream_(std::move(socket)), shared_(std::move(shared)) {}

  void Run() {
    // Start on the session's strand (as Beast's examples do).
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(shared_->options.max_header_bytes);
    parser_->body_limit(shared_->options.max_body_bytes);
    // The whole request (and, on a kept-alive connection, the wait for it) must arrive in time: a
    // client trickling bytes is cut off. Reads are asynchronous, so it holds no thread meanwhile.
    stream_.expires_after(std::chrono::milliseconds(shared_->options.request_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec == http::error::body_limit) return Refuse(http::status::payload_too_large, "payload_too_large",
                                                     "the body is larger than " + std::to_string(shared_->options.max_body_bytes) + " bytes");
    if (ec == http::error::header_limit) return Refuse(http::status::request_header_fields_too_large, "header_too_large",
                                                       "the request header is larger than " + std::to_string(shared_->options.max_header_bytes) + " bytes");
    if (ec == beast::error::timeout || ec == net::error::operation_aborted) return Close();
    if (ec) {
      // A malformed request: answer 400 when the connection still works, then close.
      if (ec.category() == http::make_error_code(http::error::bad_method).category() || ec == http::error::partial_message) {
        return Refuse(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
      }
      return Close();
    }
    shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.authorization = std::string(req[http::field::authorization]);
    request.content_type = std::string(req[http::field::content_type]);
    request.if_none_match = std::string(req[http::field::if_none_match]);
    request.body = std::move(req.body());
    const unsigned version = req.version();
    const bool wants_keep_alive = req.keep_alive();
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (!MatchRoute(request.method, path).blocking) {
      Handled(Handle(request), version, wants_keep_alive);
      return;
    }
    // Off the I/O threads; the response is written back on this session's strand.
    net::post(*shared_->blocking, [self = shared_from_this(), request = std::move(request), version, wants_keep_alive]() mutable {
      HttpResponse response = self->Handle(request);
      net::post(self->stream_.get_executor(), [self, response = std::move(response), version, wants_keep_alive]() mutable {
        self->Handled(std::move(response), version, wants_keep_alive);
      });
    });
  }

  HttpResponse Handle(const HttpRequest& request) {
    try {
      return shared_->service->Handle(request);
    } catch (const std::exception& e) {
      // The handler returns errors as values; this is a last line so a bug never takes the
      // process down with every other connection.
      STEWARD_LOG(kError) << "handler threw on " << request.method << " " << request.target << ": " << e.what();
      return HttpResponse{500, "application/json", "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}\n", {}};
    }
  }

  void Handled(HttpResponse response, unsigned version, bool wants_keep_alive) {
    Respond(std::move(response), version, wants_keep_alive && !shared_->stopping.load(), /*counted=*/true);
  }

  // Answered before the Service sees the request (the parser refused it); `message` is ours, plain
  // ASCII without quotes.
  void Refuse(http::status status, const std::string& code, const std::string& message) {
    HttpResponse r;
    r.status = static_cast<int>(status);
    std::string safe;
    for (char c : message) safe += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    r.body = "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + safe + "\"}}\n";
    Respond(std::move(r), 11, /*keep_alive=*/false, /*counted=*/false);
  }

  void Respond(HttpResponse response, unsigned version, bool keep_alive, bool counted) {
    res_ = {};
    res_.version(version);
    res_.result(static_cast<http::status>(response.status));
    res_.set(http::field::server, "steward");
    res_.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res_.set(name, value);
    res_.keep_alive(keep_alive);
    res_.body() = std::move(response.body);
    res_.prepare_payload();
    http::async_write(stream_, res_, beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive, counted));
  }

  void OnWrite(bool keep_alive, bool counted, beast::error_code ec, std::size_t) {
    if (counted) shared_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (ec || !keep_alive) return Close();
    DoRead();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<Shared> shared_;
};

// Accepts connections and starts a session for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<Shared> shared) : ioc_(ioc), acceptor_(net::make_strand(ioc)), shared_(std::move(shared)) {}

  beast::error_code Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
  }
  tcp::endpoint local() const { return acceptor_.local_endpoint(); }
  void Run() { DoAccept(); }
  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void DoAccept() { acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Listener::OnAccept, shared_from_this())); }
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), shared_)->Run();
    } else {
      STEWARD_LOG(kWarn) << "accept: " << ec.message();
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

struct Server::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  net::io_context ioc;
  std::shared_ptr<Listener> listener;
  tcp::endpoint bound;
  std::unique_ptr<net::steady_timer> drain_timer;
  std::chrono::steady_clock::time_point drain_deadline;

  explicit Impl(int threads) : ioc(threads) {}

  void Drain() {
    if (shared->in_flight.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      if (shared->in_flight.load() != 0) STEWARD_LOG(kWarn) << "shutdown: " << shared->in_flight.load() << " requests still in flight after the drain timeout";
      ioc.stop();
      return;
    }
    drain_timer->expires_after(std::chrono::milliseconds(10));
    drain_timer->async_wait([this](beast::error_code) { Drain(); });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

StatusOr<std::unique_ptr<Server>> Server::Start(Service& service, ServerOptions options) {
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return InvalidArgument("--listen: expected HOST:PORT, e.g. 127.0.0.1:8080, got '" + options.listen + "'");
  const std::string host = options.listen.substr(0, colon), port_text = options.listen.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec_port] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec_port != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return InvalidArgument("--listen: the port must be 0-65535, got '" + port_text + "'");
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return InvalidArgument("--listen: '" + host + "' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)");
  if (options.threads < 1) return InvalidArgument("--threads: must be at least 1");
  if (options.blocking_threads < 1) return InvalidArgument("--blocking-threads: must be at least 1");
  auto impl = std::make_unique<Impl>(options.threads);
  impl->shared->service = &service;
  impl->shared->blocking = std::make_unique<net::thread_pool>(static_cast<size_t>(options.blocking_threads));
  impl->shared->options = options;
  impl->listener = std::make_shared<Listener>(impl->ioc, impl->shared);
  if (auto e = impl->listener->Open(tcp::endpoint(address, static_cast<uint16_t>(port)))) {
    return Unavailable("cannot listen on " + options.listen + ": " + e.message());
  }
  impl->bound = impl->listener->local();
  impl->listener->Run();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->bound.port(); }
std::string Server::address() const { return impl_->bound.address().to_string() + ":" + std::to_string(impl_->bound.port()); }
uint64_t Server::in_flight() const { return impl_->shared->in_flight.load(); }

void Server::Run() {
  std::vector<std::thread> extra;
  for (int i = 1; i < impl_->shared->options.threads; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
  impl_->shared->blocking->join();  // drained: every blocking handler finished
}

void Server::Stop() {
  if (impl_->shared->stopping.exchange(true)) return;
  impl_->listener->Close();
  net::post(impl_->ioc, [this] {
    impl_->drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->shared->options.drain_timeout_ms);
    impl_->drain_timer = std::make_unique<net::steady_timer>(impl_->ioc);
    impl_->Drain();
  });
}

}  // namespace steward::server
