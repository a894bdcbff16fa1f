#include "common/progress.h"

#include <unistd.h>

#include <cmath>

namespace steward {

Progress::Progress(std::string label, uint64_t total, std::string unit, const Clock& clock, std::FILE* out,
                   int64_t interval_ms)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      clock_(clock),
      out_(out),
      interval_ns_(interval_ms * 1000000),
      start_ns_(clock.MonotonicNanos()),
      last_print_ns_(start_ns_),
      tty_(isatty(fileno(out)) != 0) {}

void Progress::Update(uint64_t done) {
  done_ = done;
  const int64_t now = clock_.MonotonicNanos();
  if (now - last_print_ns_ >= interval_ns_) {
    last_print_ns_ = now;
    Print(false);
  }
}

void Progress::Finish() {
  if (total_ > 0 && done_ < total_) done_ = total_;
  Print(true);
}

std::string Progress::HumanRate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", per_second / 1e6);
  else if (per_second >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", per_second);
  return buf;
}

std::string Progress::HumanDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>((s % 3600) / 60));
  return buf;
}

void Progress::Print(bool final_line) {
  if (!enabled_) return;
  const double elapsed = static_cast<double>(clock_.MonotonicNanos() - start_ns_) / 1e9;
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string line = label_ + ": " + std::to_string(done_);
  if (total_ > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.1f%%)", 100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    line += "/" + std::to_string(total_) + " " + unit_ + pct;
  } else {
    line += " " + unit_;
  }
  line += " " + HumanRate(rate) + "/s";
  if (final_line) {
    line += ", done in " + HumanDuration(elapsed);
  } else if (total_ > 0 && rate > 0) {
    line += ", ETA " + HumanDuration(static_cast<double>(total_ - std::min(done_, total_)) / rate);
  }
  if (tty_) {
    std::fprintf(out_, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace steward
