// Configuration as data: YAML files (JSON accepted, since JSON is YAML), validated on load.
//
// A ConfigNode is a read-only view of one node that remembers its file and its path
// ("arms[1].weight"), so every error names the file, the field and the fix:
//   experiments/demo.yaml: field 'arms[1].weight': expected a number, got "heavy"; fix: write a
//   number such as 0.5
// The YAML library's types stay inside config.cc.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace steward {

// Limits every configuration tree is checked against when parsed (docs/security.md). A tree over
// a limit is rejected with an error, before anything else reads it.
inline constexpr size_t kMaxConfigNodes = 100000;  // values (maps, lists, scalars) with aliases expanded
inline constexpr int kMaxConfigDepth = 32;         // nesting of maps and lists

class ConfigNode {
 public:
  struct Impl;

  // Loads a YAML or JSON file: a regular file of at most kMaxConfigFileBytes (common/file.h).
  // Errors name the file and, for syntax errors, line and column.
  static StatusOr<ConfigNode> LoadFile(const std::string& path);
  // Parses text; `source` names it in error messages (e.g. "--experiment" or a file name). Errors
  // (kInvalidArgument): not UTF-8 text, not YAML/JSON, more than kMaxConfigNodes values once
  // aliases are expanded, nesting deeper than kMaxConfigDepth, a key that is not a scalar, a key
  // repeated in one map (naming both lines), a key or value that is not UTF-8 or holds a NUL byte
  // (e.g. from a "\0" escape).
  static StatusOr<ConfigNode> Parse(const std::string& text, const std::string& source);

  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;
  bool IsNull() const;

  // Map access. Get() errors when the key is missing; Find() returns nullopt.
  bool Has(std::string_view key) const;
  StatusOr<ConfigNode> Get(std::string_view key) const;
  std::optional<ConfigNode> Find(std::string_view key) const;
  std::vector<std::string> Keys() const;
  // Errors on the first key not in `allowed`, suggesting the closest allowed key.
  Status RejectUnknownKeys(std::initializer_list<std::string_view> allowed) const;

  // Sequence access.
  size_t size() const;
  ConfigNode At(size_t index) const;

  // Scalar conversions, with errors naming this node.
  StatusOr<std::string> AsString() const;
  StatusOr<double> AsDouble() const;
  StatusOr<int64_t> AsInt() const;
  StatusOr<bool> AsBool() const;

  // Convenience: a field's value, or `fallback` when absent.
  StatusOr<std::string> GetString(std::string_view key, std::optional<std::string> fallback = std::nullopt) const;
  StatusOr<double> GetDouble(std::string_view key, std::optional<double> fallback = std::nullopt) const;
  StatusOr<int64_t> GetInt(std::string_view key, std::optional<int64_t> fallback = std::nullopt) const;
  StatusOr<bool> GetBool(std::string_view key, std::optional<bool> fallback = std::nullopt) const;

  // An InvalidArgument naming this node: "<file>: field '<path>': <what>; fix: <fix>".
  Status Error(const std::string& what, const std::string& fix) const;

  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }
  // The node as compact JSON (for storing configs verbatim in the database). Every scalar keeps its
  // text: Parse(ToJson()) reads back the same strings (see ScalarToJson in config.cc).
  std::string ToJson() const;

 private:
  ConfigNode(std::shared_ptr<const Impl> impl, std::string source, std::string path)
      : impl_(std::move(impl)), source_(std::move(source)), path_(std::move(path)) {}
  std::string ChildPath(std::string_view key) const;

  std::shared_ptr<const Impl> impl_;
  std::string source_;
  std::string path_;
};

// Levenshtein distance, used to suggest the field a typo meant.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace steward
