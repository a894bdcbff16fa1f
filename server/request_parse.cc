#include "server/request_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/text.h"

namespace steward::server {

ApiError BadField(const std::string& field, const std::string& message) {
  return ApiError{400, "invalid_argument", field + ": " + message, field};
}

int JsonDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

std::optional<ApiError> ParseObject(std::string_view text, int max_depth, nlohmann::json& out) {
  if (JsonDepth(text) > max_depth) return BadField("body", "JSON nested deeper than " + std::to_string(max_depth) + " levels");
  out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return BadField("body", "not valid JSON; send one JSON object");
  if (!out.is_object()) return BadField("body", "must be a JSON object");
  return std::nullopt;
}

std::optional<ApiError> GetString(const nlohmann::json& o, const std::string& key, bool required, std::string& out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    if (required) return BadField(key, "required (a string)");
    return std::nullopt;
  }
  if (!it->is_string()) return BadField(key, "must be a string");
  out = it->get<std::string>();
  if (Status s = CheckLine(out, key); !s.ok()) return BadField(key, "must be one line of UTF-8 text without control characters");
  return std::nullopt;
}

std::optional<ApiError> GetInt(const nlohmann::json& o, const std::string& key, bool required, int64_t lo, int64_t hi, int64_t& out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    if (required) return BadField(key, "required (an integer)");
    return std::nullopt;
  }
  if (!it->is_number_integer()) return BadField(key, "must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return BadField(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return BadField(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  out = v;
  return std::nullopt;
}

std::optional<ApiError> GetAttributes(const nlohmann::json& o, std::vector<std::pair<std::string, std::string>>& out) {
  auto it = o.find("attributes");
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return BadField("attributes", "must be an object of strings, numbers or booleans");
  if (it->size() > 64) return BadField("attributes", "at most 64 keys");
  for (const auto& [key, value] : it->items()) {
    const std::string field = "attributes." + key;
    if (Status s = CheckLine(key, "attributes"); !s.ok() || key.empty() || key.size() > 128) {
      return BadField("attributes", "keys must be 1-128 bytes of one-line text");
    }
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
      if (text.size() > 1024 || !CheckLine(text, field).ok()) return BadField(field, "must be one line of text, at most 1024 bytes");
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
      text = value.dump();
    } else {
      return BadField(field, "must be a string, a number or a boolean");
    }
    out.emplace_back(key, std::move(text));
  }
  return std::nullopt;
}

std::unordered_map<std::string, std::string> QueryOf(std::string_view target) {
  std::unordered_map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  auto decode = [](std::string_view s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        r += ' ';
      } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        r += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        r += s[i];
      }
    }
    return r;
  };
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::optional<ApiError> QueryInt(const std::unordered_map<std::string, std::string>& query, const std::string& key, int64_t lo,
                                 int64_t hi, int64_t& out) {
  auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v < lo || v > hi) {
    return BadField(key, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  out = v;
  return std::nullopt;
}


std::variant<std::monostate, EventLine, ApiError> ParseEventLine(std::string_view line, int64_t now_ms, int max_depth) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return std::monostate();  // blank lines are allowed
  nlohmann::json e;
  if (ParseObject(line, max_depth, e)) return BadField("line", "not a JSON object");
  EventLine out;
  out.ts_ms = now_ms;
  std::string type;
  if (auto err = GetString(e, "type", true, type)) return *err;
  if (auto err = GetInt(e, "request_id", true, 1, INT64_MAX, out.request_id)) return *err;
  if (auto err = GetInt(e, "ts_ms", false, 0, INT64_MAX, out.ts_ms)) return *err;
  if (type == "click" || type == "conversion") {
    out.type = type == "click" ? EventLine::Type::kClick : EventLine::Type::kConversion;
    if (auto err = GetInt(e, "item_id", true, INT64_MIN, INT64_MAX, out.item_id)) return *err;
    return out;
  }
  if (type != "exposure") return BadField("type", "must be click, conversion or exposure");
  out.type = EventLine::Type::kExposure;
  if (auto err = GetString(e, "user_id", true, out.user_id)) return *err;
  if (auto err = GetString(e, "experiment", true, out.experiment)) return *err;
  if (auto err = GetString(e, "arm", true, out.arm)) return *err;
  if (auto err = GetAttributes(e, out.attributes)) return *err;
  if (auto err = GetString(e, "source", false, out.source)) return *err;
  if (out.source != "app" && out.source != "sdk") return BadField("source", "must be \"app\" or \"sdk\"");
  auto items = e.find("items");
  if (items == e.end() || items->is_null()) return out;
  if (!items->is_array()) return BadField("items", "must be an array of {\"item_id\", \"propensity\"?}");
  if (items->size() > 100) return BadField("items", "at most 100");
  for (size_t j = 0; j < items->size(); ++j) {
    const nlohmann::json& item = (*items)[j];
    const std::string field = "items[" + std::to_string(j) + "]";
    if (!item.is_object()) return BadField(field, "must be an object {\"item_id\", \"propensity\"?}");
    storage::ServedItem served;
    if (auto err = GetInt(item, "item_id", true, INT64_MIN, INT64_MAX, served.item_id)) {
      return BadField(field + ".item_id", "required (an integer)");
    }
    auto p = item.find("propensity");
    if (p != item.end() && !p->is_null()) {
      if (!p->is_number()) return BadField(field + ".propensity", "must be a number in (0, 1]");
      served.propensity = p->get<double>();
      if (!(served.propensity > 0.0 && served.propensity <= 1.0)) return BadField(field + ".propensity", "must be a number in (0, 1]");
    }
    out.items.push_back(served);
  }
  return out;
}

}  // namespace steward::server
