#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/json.h"
#include "common/text.h"

namespace steward {

struct ConfigNode::Impl {
  YAML::Node node;
};

namespace {

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "\"" + node.Scalar() + "\"";
}

// A scalar keeps its text byte for byte through the stored JSON (which is parsed again whenever the
// experiment is read back): a plain scalar becomes a JSON number or boolean only when that JSON
// value prints as exactly the same text; everything else - quoted or tagged scalars, and plain
// ones such as 007, 01, 1e3, 0x1F, 1.50, True - is a JSON string. The schema's readers (AsInt,
// AsDouble, AsBool) parse numbers from strings, so a number written as 1.50 still reads as 1.5,
// while a seed written as 007 stays "007" (GrowthBook hashes the seed's text).
nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return s;  // quoted ("!") or explicitly tagged in the source: text
  if (s == "true") return true;
  if (s == "false") return false;
  int64_t i = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && end == s.data() + s.size()) {
    nlohmann::json number = i;
    if (DumpJson(number) == s) return number;
    return s;
  }
  char* stop = nullptr;
  const double d = std::strtod(s.c_str(), &stop);
  if (!s.empty() && stop == s.c_str() + s.size() && std::isfinite(d)) {
    nlohmann::json number = d;
    if (DumpJson(number) == s) return number;
  }
  return s;
}

nlohmann::json ToJsonValue(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsMap()) {
    nlohmann::json obj = nlohmann::json::object();
    for (const auto& kv : node) obj[kv.first.Scalar()] = ToJsonValue(kv.second);
    return obj;
  }
  if (node.IsSequence()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& item : node) arr.push_back(ToJsonValue(item));
    return arr;
  }
  return ScalarToJson(node);
}

std::string Where(const std::string& source, const YAML::Node& node) {
  return node.Mark().line >= 0 ? source + ":" + std::to_string(node.Mark().line + 1) : source;
}

// Counts nodes as if aliases were copied (a billion-laughs file expands exponentially) and bounds
// the depth; stops at the first violation, so its cost is bounded by the limits themselves.
Status CheckTree(const YAML::Node& node, const std::string& source, int depth, size_t& nodes) {
  if (++nodes > kMaxConfigNodes) {
    return InvalidArgument(source + ": more than " + std::to_string(kMaxConfigNodes) +
                           " values once aliases (*name) are expanded; fix: write the values out instead of nesting "
                           "aliases (a configuration is at most " + std::to_string(kMaxConfigNodes) + " values)");
  }
  if (depth > kMaxConfigDepth) {
    return InvalidArgument(Where(source, node) + ": nested more than " + std::to_string(kMaxConfigDepth) +
                           " levels deep; fix: flatten the structure");
  }
  if (node.IsMap()) {
    std::map<std::string, int> seen;  // key -> line (1-based)
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return InvalidArgument(Where(source, kv.first) + ": a key must be plain text, not a list or map; fix: name the field");
      }
      const std::string& key = kv.first.Scalar();
      RETURN_IF_ERROR(CheckText(key, Where(source, kv.first) + ": key"));
      const int line = kv.first.Mark().line + 1;
      if (auto [it, inserted] = seen.emplace(key, line); !inserted) {
        // YAML forbids duplicate keys; readers would silently take one or the other.
        return InvalidArgument(source + ":" + std::to_string(line) + ": key '" + key + "' appears twice (lines " +
                               std::to_string(it->second) + " and " + std::to_string(line) +
                               "); fix: keep one of them");
      }
      RETURN_IF_ERROR(CheckTree(kv.second, source, depth + 1, nodes));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) RETURN_IF_ERROR(CheckTree(item, source, depth + 1, nodes));
  } else if (node.IsScalar()) {
    // Escapes in double-quoted scalars ("\0", "\ud800") can make bytes the file itself may not hold.
    RETURN_IF_ERROR(CheckText(node.Scalar(), Where(source, node) + ": value"));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ConfigNode> ConfigNode::Parse(const std::string& text, const std::string& source) {
  // Configuration is UTF-8 text: reject other bytes here, naming the line, before the YAML library
  // or any JSON output sees them.
  if (Status s = CheckText(text, "text"); !s.ok()) {
    const size_t bad = FindInvalidUtf8(text).value_or(text.find('\0'));
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    return InvalidArgument(source + ":" + std::to_string(line) + ": " + s.message());
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                           ": not valid YAML/JSON (" + e.msg + "); fix the syntax at that position");
  }
  // One walk over the tree as every later reader sees it (aliases expanded), bounded, before any
  // of them runs: a few hundred bytes of nested aliases cannot expand into gigabytes.
  size_t nodes = 0;
  RETURN_IF_ERROR(CheckTree(impl->node, source, 0, nodes));
  return ConfigNode(std::move(impl), source, "");
}

StatusOr<ConfigNode> ConfigNode::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigFileBytes, "configuration file"));
  return Parse(text, path);
}

bool ConfigNode::IsMap() const { return impl_->node.IsMap(); }
bool ConfigNode::IsSequence() const { return impl_->node.IsSequence(); }
bool ConfigNode::IsScalar() const { return impl_->node.IsScalar(); }
bool ConfigNode::IsNull() const { return !impl_->node.IsDefined() || impl_->node.IsNull(); }

std::string ConfigNode::ChildPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool ConfigNode::Has(std::string_view key) const {
  if (!impl_->node.IsMap()) return false;
  const YAML::Node child = impl_->node[std::string(key)];
  return child.IsDefined() && !child.IsNull();
}

std::optional<ConfigNode> ConfigNode::Find(std::string_view key) const {
  if (!Has(key)) return std::nullopt;
  auto impl = std::make_shared<Impl>();
  impl->node = impl_->node[std::string(key)];
  return ConfigNode(std::move(impl), source_, ChildPath(key));
}

StatusOr<ConfigNode> ConfigNode::Get(std::string_view key) const {
  if (!impl_->node.IsMap()) {
    return Error("expected a map with field '" + std::string(key) + "', got " + Describe(impl_->node),
                 "write it as `" + std::string(key) + ": <value>` under this field");
  }
  auto child = Find(key);
  if (!child) {
    ConfigNode missing(impl_, source_, ChildPath(key));
    return missing.Error("is required but missing", "add `" + std::string(key) + ": <value>`");
  }
  return *child;
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> keys;
  if (!impl_->node.IsMap()) return keys;
  for (const auto& kv : impl_->node) keys.push_back(kv.first.Scalar());
  return keys;
}

Status ConfigNode::RejectUnknownKeys(std::initializer_list<std::string_view> allowed) const {
  for (const std::string& key : Keys()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string_view best;
    size_t best_distance = SIZE_MAX;
    for (std::string_view candidate : allowed) {
      const size_t d = EditDistance(key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
    ConfigNode bad(impl_, source_, ChildPath(key));
    std::string fix = best_distance <= 3 ? "did you mean '" + std::string(best) + "'?" : "remove it";
    std::string known;
    for (std::string_view a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
    return bad.Error("is not a known field (known: " + known + ")", fix);
  }
  return Status::Ok();
}

size_t ConfigNode::size() const { return impl_->node.IsSequence() ? impl_->node.size() : 0; }

ConfigNode ConfigNode::At(size_t index) const {
  auto impl = std::make_shared<Impl>();
  impl->node = impl_->node[index];
  return ConfigNode(std::move(impl), source_, path_ + "[" + std::to_string(index) + "]");
}

StatusOr<std::string> ConfigNode::AsString() const {
  if (!impl_->node.IsScalar()) return Error("expected text, got " + Describe(impl_->node), "write a plain value");
  return impl_->node.Scalar();
}

StatusOr<double> ConfigNode::AsDouble() const {
  if (impl_->node.IsScalar()) {
    const std::string& s = impl_->node.Scalar();
    try {
      size_t used = 0;
      const double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d)) return d;
    } catch (const std::exception&) {
    }
  }
  return Error("expected a number, got " + Describe(impl_->node), "write a number such as 0.5");
}

StatusOr<int64_t> ConfigNode::AsInt() const {
  if (impl_->node.IsScalar()) {
    const std::string& s = impl_->node.Scalar();
    try {
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return static_cast<int64_t>(v);
    } catch (const std::exception&) {
    }
  }
  return Error("expected a whole number, got " + Describe(impl_->node), "write an integer such as 100");
}

StatusOr<bool> ConfigNode::AsBool() const {
  if (impl_->node.IsScalar()) {
    const std::string& s = impl_->node.Scalar();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  return Error("expected true or false, got " + Describe(impl_->node), "write true or false");
}

StatusOr<std::string> ConfigNode::GetString(std::string_view key, std::optional<std::string> fallback) const {
  if (fallback && !Has(key)) return *fallback;
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsString();
}

StatusOr<double> ConfigNode::GetDouble(std::string_view key, std::optional<double> fallback) const {
  if (fallback && !Has(key)) return *fallback;
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsDouble();
}

StatusOr<int64_t> ConfigNode::GetInt(std::string_view key, std::optional<int64_t> fallback) const {
  if (fallback && !Has(key)) return *fallback;
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsInt();
}

StatusOr<bool> ConfigNode::GetBool(std::string_view key, std::optional<bool> fallback) const {
  if (fallback && !Has(key)) return *fallback;
  ASSIGN_OR_RETURN(ConfigNode child, Get(key));
  return child.AsBool();
}

Status ConfigNode::Error(const std::string& what, const std::string& fix) const {
  std::string where = source_;
  if (impl_->node.IsDefined() && impl_->node.Mark().line >= 0) {
    where += ":" + std::to_string(impl_->node.Mark().line + 1);
  }
  return InvalidArgument(where + ": field '" + (path_.empty() ? "<root>" : path_) + "' " + what + "; fix: " + fix);
}

std::string ConfigNode::ToJson() const { return DumpJson(ToJsonValue(impl_->node)); }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace steward
