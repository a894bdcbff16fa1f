#include <cstdio>

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

void PrintJsonLine(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

}  // namespace steward::app
