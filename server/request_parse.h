// Parsing and validating what clients send, before any of it reaches the serving pipeline: JSON
// bodies (depth-limited), typed fields with errors that name the field, user attributes, query
// strings and the lines of an NDJSON events body. Pure functions over bytes (no sockets, no
// database), fuzzed by fuzz/http_fuzz.cc.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "storage/events.h"

namespace steward::server {

// A failed request: status, machine-readable code, message, and the field at fault when known.
struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
  std::string field;
};

// 400 invalid_argument "FIELD: MESSAGE" naming FIELD.
ApiError BadField(const std::string& field, const std::string& message);

// Nesting depth of a JSON text (brackets outside strings), checked before parsing.
int JsonDepth(std::string_view text);
// Parses a JSON object body; errors name "body".
std::optional<ApiError> ParseObject(std::string_view text, int max_depth, nlohmann::json& out);
// Typed fields of an object; a missing optional field leaves `out` as it was.
std::optional<ApiError> GetString(const nlohmann::json& o, const std::string& key, bool required, std::string& out);
std::optional<ApiError> GetInt(const nlohmann::json& o, const std::string& key, bool required, int64_t lo, int64_t hi, int64_t& out);
// "attributes": an object (at most 64 keys) of strings, numbers or booleans, kept as text.
std::optional<ApiError> GetAttributes(const nlohmann::json& o, std::vector<std::pair<std::string, std::string>>& out);

// The query string's parameters, percent-decoded ("+" is a space).
std::unordered_map<std::string, std::string> QueryOf(std::string_view target);
// An integer parameter in [lo, hi]; a missing one leaves `out` as it was.
std::optional<ApiError> QueryInt(const std::unordered_map<std::string, std::string>& query, const std::string& key, int64_t lo,
                                 int64_t hi, int64_t& out);

// One line of a POST /v1/events body, validated (docs/api.md).
struct EventLine {
  enum class Type { kClick, kConversion, kExposure };
  Type type = Type::kClick;
  int64_t request_id = 0;  // > 0
  int64_t ts_ms = 0;       // the line's, or `now_ms`
  int64_t item_id = 0;     // click, conversion
  // exposure
  std::string user_id, experiment, arm, source = "app";
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<storage::ServedItem> items;
};
// A blank line gives nullopt and no error; a bad line gives the reason.
std::variant<std::monostate, EventLine, ApiError> ParseEventLine(std::string_view line, int64_t now_ms, int max_depth);

}  // namespace steward::server
