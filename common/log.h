// Minimal leveled logging to stderr: STEWARD_LOG(kInfo) << "text";
// The threshold comes from SetLogLevel() or the STEWARD_LOG_LEVEL environment variable
// (debug|info|warn|error). Default: info. Thread-safe: each message is written with one call.
#pragma once

#include <sstream>
#include <string_view>

namespace steward {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel& level);

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns a stream expression into void so it fits in the ternary of STEWARD_LOG.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace steward

// glog's voidify idiom: one expression, so it is safe inside an unbraced if/else.
#define STEWARD_LOG(level)                                                \
  !(::steward::LogLevel::level >= ::steward::GetLogLevel())               \
      ? (void)0                                                           \
      : ::steward::LogVoidify() &                                         \
            ::steward::LogMessage(::steward::LogLevel::level, __FILE__, __LINE__).stream()
