#include <cstdio>
#include <filesystem>

#include "app/cli.h"

namespace steward::app {

std::atomic<bool>& Interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

CLI::Validator AtLeast(double minimum) {
  char bound[32];
  std::snprintf(bound, sizeof bound, "%g", minimum);
  const std::string text = bound;
  return CLI::Validator(
      [minimum, text](std::string& input) -> std::string {
        try {
          size_t used = 0;
          const double value = std::stod(input, &used);
          if (used != input.size()) return "must be a number, got '" + input + "'";
          if (!(value >= minimum)) return "must be at least " + text + ", got " + input;
        } catch (const std::exception&) {
          return "must be a number, got '" + input + "'";
        }
        return std::string();
      },
      "NUMBER >= " + text);
}

void Fail(const Status& status) {
  std::fprintf(stderr, "steward: %s\n", status.ToString().c_str());
  throw CLI::RuntimeError(status.code() == StatusCode::kInvalidArgument ? 2 : 1);
}

std::unique_ptr<storage::Database> OpenExistingDatabase(const std::string& path, bool read_only) {
  if (!std::filesystem::exists(path)) {
    Fail(NotFound(path + ": no such database; check --db, or create one with `steward demo --db " + path +
                  "` or `steward experiment create --db " + path + " --file FILE`"));
  }
  storage::DatabaseOptions options;
  options.read_only = read_only;
  auto db = storage::Database::Open(path, options);
  if (!db.ok()) Fail(db.status());
  return std::move(db).value();
}

void PrintJsonLine(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

}  // namespace steward::app
