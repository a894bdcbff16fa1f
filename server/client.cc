#include "server/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

namespace steward::server {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
}  // namespace

struct HttpClient::Impl {
  std::string host, port, token;
  int64_t timeout_ms = 30000;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status Connect() {
    stream.emplace(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return Unavailable("cannot resolve " + host + ":" + port + ": " + ec.message());
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    stream->connect(results, ec);
    if (ec) return Unavailable("cannot connect to " + host + ":" + port + ": " + ec.message());
    beast::error_code ignored;
    stream->socket().set_option(tcp::no_delay(true), ignored);
    buffer.clear();
    return Status::Ok();
  }

  StatusOr<HttpResponse> Once(const std::string& method, const std::string& target, const std::string& body,
                              const std::string& content_type) {
    if (!stream) RETURN_IF_ERROR(Connect());
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "steward");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http::field::content_type, content_type);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    http::write(*stream, req, ec);
    if (ec) {
      stream.reset();
      return Unavailable("sending " + method + " " + target + ": " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 30);
    http::read(*stream, buffer, parser, ec);
    if (ec) {
      stream.reset();
      return Unavailable("reading the response to " + method + " " + target + ": " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream.reset();
    return out;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& url, const std::string& token, int64_t timeout_ms) {
  static constexpr std::string_view kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return InvalidArgument("--url: expected http://HOST:PORT, got '" + url + "'");
  std::string rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() || rest.find('/') != std::string::npos) {
    return InvalidArgument("--url: expected http://HOST:PORT, got '" + url + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->host = rest.substr(0, colon);
  impl->port = rest.substr(colon + 1);
  impl->token = token;
  impl->timeout_ms = timeout_ms;
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

StatusOr<HttpResponse> HttpClient::Send(const std::string& method, const std::string& target, const std::string& body,
                                        const std::string& content_type) {
  const bool reused = impl_->stream.has_value();
  auto r = impl_->Once(method, target, body, content_type);
  if (!r.ok() && reused) r = impl_->Once(method, target, body, content_type);  // the server closed an idle connection
  return r;
}

}  // namespace steward::server
