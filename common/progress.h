// Progress: periodic progress lines on stderr with rate and ETA, for every long-running command.
//   demo: 5000/20000 requests (25.0%) 4.1k/s, ETA 4s
// At most one line per `interval_ms` (Default: 1000) plus a final line from Finish(). On a terminal
// the line is redrawn in place; otherwise (logs, CI) each update is its own line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/clock.h"

namespace steward {

class Progress {
 public:
  Progress(std::string label, uint64_t total, std::string unit, const Clock& clock = SystemClock::Default(),
           std::FILE* out = stderr, int64_t interval_ms = 1000);
  // Records that `done` units are complete; prints when the interval has passed.
  void Update(uint64_t done);
  // Prints the final line (total, elapsed, mean rate).
  void Finish();
  void set_enabled(bool enabled) { enabled_ = enabled; }

  // Formatting used by the lines, exposed for tests: "4.1k", "12.0M", "850".
  static std::string HumanRate(double per_second);
  // "4s", "2m05s", "1h02m".
  static std::string HumanDuration(double seconds);

 private:
  void Print(bool final_line);

  std::string label_;
  uint64_t total_;
  std::string unit_;
  const Clock& clock_;
  std::FILE* out_;
  int64_t interval_ns_;
  int64_t start_ns_;
  int64_t last_print_ns_;
  uint64_t done_ = 0;
  bool tty_;
  bool enabled_ = true;
};

}  // namespace steward
