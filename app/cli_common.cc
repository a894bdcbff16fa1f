#include <cstdio>
#include <filesystem>

#include "app/cli.h"

namespace steward::app {

std::atomic<bool>& Interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
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
