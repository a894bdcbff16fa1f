#include "app/paths.h"

#include <cstdlib>
#include <filesystem>

namespace steward::app {

std::string ResolveDataDir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("STEWARD_DATA"); env && *env) return env;
  if (std::filesystem::exists(std::filesystem::path(STEWARD_DATA_DIR) / "goodbooks" / "books.csv")) return STEWARD_DATA_DIR;
  return "data";
}

}  // namespace steward::app
