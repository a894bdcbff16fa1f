#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "console/source.h"

namespace steward::console {

FieldError ParseFieldError(const std::string& message) {
  // ConfigNode::Error: "<source>:<line>: field '<path>' <what>; fix: <fix>". Scanned by hand (no
  // std::regex: GCC 12 warns inside <regex> under the sanitizer build, and warnings are errors).
  FieldError e;
  e.message = message;
  const std::string key = "field '";
  const size_t at = message.find(key);
  if (at == std::string::npos) return e;
  const size_t start = at + key.size();
  const size_t end = message.find('\'', start);
  if (end == std::string::npos) return e;
  e.field = message.substr(start, end - start);
  // ":<digits>: " right before "field '" is the line.
  if (at >= 3 && message[at - 1] == ' ' && message[at - 2] == ':') {
    size_t d = at - 2;
    while (d > 0 && std::isdigit(static_cast<unsigned char>(message[d - 1]))) --d;
    if (d < at - 2 && d > 0 && message[d - 1] == ':' && at - 2 - d <= 9) e.line = std::atoi(message.substr(d, at - 2 - d).c_str());
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
