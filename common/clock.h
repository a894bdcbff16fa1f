// Clock: every read of time goes through this interface so tests and the simulator control it.
// Thread safety: implementations are safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace steward {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall time for SystemClock, event time for ManualClock).
  virtual int64_t NowMillis() const = 0;
  // A monotonic reading in nanoseconds, for measuring durations.
  virtual int64_t MonotonicNanos() const = 0;
};

// The real clock. Process-wide instance: SystemClock::Default().
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  int64_t MonotonicNanos() const override;
  static const SystemClock& Default();
};

// A clock that only moves when told to: tests and simulated event time.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_millis = 0) : millis_(start_millis) {}
  int64_t NowMillis() const override { return millis_.load(std::memory_order_relaxed); }
  int64_t MonotonicNanos() const override { return NowMillis() * 1000000; }
  void SetMillis(int64_t millis) { millis_.store(millis, std::memory_order_relaxed); }
  void AdvanceMillis(int64_t delta) { millis_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> millis_;
};

}  // namespace steward
