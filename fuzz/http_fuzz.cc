// The HTTP service's request parsing (server/request_parse.h, server/routes.h): what a client's
// bytes meet before anything is served or stored. Input: "METHOD TARGET\n" then a body, read both
// as one JSON object and as NDJSON event lines. Besides crashes and sanitizer reports it checks the
// contracts: every accepted event line is fully valid (positive request id, one-line UTF-8 text,
// at most 100 items, propensities in (0, 1]); every refusal is a 400 with a message.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "common/text.h"
#include "server/request_parse.h"
#include "server/routes.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view head = input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  const size_t space = head.find(' ');
  const std::string method(head.substr(0, space));
  const std::string target(space == std::string_view::npos ? std::string_view() : head.substr(space + 1));

  const steward::server::Route route = steward::server::MatchRoute(method, target.substr(0, target.find('?')));
  Check(!route.pattern.empty());
  const auto query = steward::server::QueryOf(target);
  int64_t limit = 7;
  if (auto err = steward::server::QueryInt(query, "limit", 1, 1000, limit)) {
    Check(err->status == 400 && !err->message.empty());
  } else {
    Check(limit >= 1 && limit <= 1000);
  }

  nlohmann::json object;
  if (!steward::server::ParseObject(body, 32, object)) {
    Check(object.is_object());
    std::vector<std::pair<std::string, std::string>> attributes;
    if (!steward::server::GetAttributes(object, attributes)) {
      Check(attributes.size() <= 64);
      for (const auto& [k, v] : attributes) Check(!k.empty() && steward::CheckLine(k, "k").ok());
    }
  }

  std::string_view rest = body;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    auto parsed = steward::server::ParseEventLine(line, 1'700'000'000'000, 32);
    if (const auto* err = std::get_if<steward::server::ApiError>(&parsed)) {
      Check(err->status == 400 && !err->message.empty());
      continue;
    }
    if (const auto* e = std::get_if<steward::server::EventLine>(&parsed)) {
      Check(e->request_id > 0 && e->ts_ms >= 0 && e->items.size() <= 100);
      for (const auto& item : e->items) Check(item.propensity > 0.0 && item.propensity <= 1.0);
      if (e->type == steward::server::EventLine::Type::kExposure) {
        for (const std::string* s : {&e->user_id, &e->experiment, &e->arm, &e->source}) Check(steward::CheckLine(*s, "s").ok());
        Check(e->source == "app" || e->source == "sdk");
      }
    }
  }
  return 0;
}
