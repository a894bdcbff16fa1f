// JSON output that cannot throw. nlohmann::json::dump() throws type_error.316 on a string that is
// not valid UTF-8, which would abort a command half-way (an uncaught exception: exit 134, a
// rollback not applied). Every serialisation in Steward goes through DumpJson, which replaces
// invalid bytes with U+FFFD instead. Inputs are validated as UTF-8 where they enter
// (common/text.h), so a replacement here means bytes that came from elsewhere (e.g. a database
// written by another tool) and is visible in the output rather than fatal.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace steward {

// `indent` < 0: compact, one line (the default); >= 0: pretty-printed with that many spaces.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace steward
