#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "console/source.h"

namespace steward::console {

FieldError ParseFieldError(const std::string& message) {
  // ConfigNode::Error: "<source>:<line>: field '<path>' <what>; fix: <fix>".
  FieldError e;
  e.message = message;
  static const std::regex kField(":([0-9]+): field '([^']*)'");
  std::smatch m;
  if (std::regex_search(message, m, kField)) {
    e.line = std::stoi(m[1].str());
    e.field = m[2].str();
  } else {
    static const std::regex kFieldOnly("field '([^']*)'");
    if (std::regex_search(message, m, kFieldOnly)) e.field = m[1].str();
  }
  return e;
}

StatusOr<RampEdit> EditRampCoverage(const std::string& source_json, const std::vector<double>& coverage) {
  nlohmann::json doc = nlohmann::json::parse(source_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("the stored definition is not a JSON object");
  if (!doc.contains("ramp") || !doc["ramp"].is_array()) return InvalidArgument("ramp: the experiment has no ramp to edit");
  nlohmann::json& ramp = doc["ramp"];
  if (ramp.size() != coverage.size()) {
    return InvalidArgument("ramp: expected " + std::to_string(ramp.size()) + " coverages, got " + std::to_string(coverage.size()));
  }
  RampEdit edit;
  for (size_t i = 0; i < coverage.size(); ++i) {
    if (!(coverage[i] > 0.0 && coverage[i] <= 1.0)) {
      return InvalidArgument("ramp[" + std::to_string(i) + "].coverage: must be in (0, 1], got " + std::to_string(coverage[i]));
    }
    // The stored definition keeps YAML scalars as text ("0.10") or numbers; write back the same kind.
    const nlohmann::json& stored = ramp[i].is_object() && ramp[i].contains("coverage") ? ramp[i]["coverage"] : nlohmann::json();
    const bool as_text = stored.is_string();
    const double old = as_text ? std::strtod(stored.get<std::string>().c_str(), nullptr) : stored.is_number() ? stored.get<double>() : 0.0;
    if (std::abs(old - coverage[i]) > 1e-12) {
      char line[96];
      std::snprintf(line, sizeof line, "step %zu: coverage %.0f%% -> %.0f%%", i + 1, 100.0 * old, 100.0 * coverage[i]);
      edit.diff.push_back(line);
      if (as_text) {
        char text[32];
        std::snprintf(text, sizeof text, "%g", coverage[i]);
        ramp[i]["coverage"] = text;
      } else {
        ramp[i]["coverage"] = coverage[i];
      }
    }
  }
  edit.definition = DumpJson(doc);
  return edit;
}

}  // namespace steward::console
