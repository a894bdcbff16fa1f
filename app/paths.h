// Where Steward finds its bundled data: --data DIR, else $STEWARD_DATA, else the source tree's
// data/ (compiled in), else ./data.
#pragma once

#include <string>

namespace steward::app {

std::string ResolveDataDir(const std::string& flag_value);

}  // namespace steward::app
