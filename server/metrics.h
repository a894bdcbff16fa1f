// Metrics: the service's Prometheus counters and histograms, rendered in the text exposition
// format (version 0.0.4) by GET /metrics.
//
// Request series are labelled by endpoint (the route pattern, never the raw path, so a client
// cannot create series), arm ("" outside recommend/assign) and status code. Gauges that describe
// other components (queues, experiments) are appended by the caller when rendering.
//
// Thread safety: Observe* may be called from any thread (one mutex, held for a map lookup and a
// few increments).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace steward::server {

class Metrics {
 public:
  // Upper bounds (seconds) of the request latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  void ObserveRequest(const std::string& endpoint, const std::string& arm, int status, double seconds);
  void CountAuthDenied(int status);
  void CountEvents(uint64_t accepted, uint64_t rejected, uint64_t unavailable_batches);

  // The request, error, auth and event series in the text format (one # HELP/# TYPE per family).
  std::string Render() const;

  // Escapes a label value (backslash, double quote, newline) for the text format.
  static std::string EscapeLabel(const std::string& value);

 private:
  struct Latency {
    std::array<uint64_t, kLatencyBuckets.size()> le{};  // non-cumulative per bucket
    uint64_t count = 0;
    double sum = 0.0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // (endpoint, arm, code)
  std::map<std::pair<std::string, std::string>, Latency> latency_;          // (endpoint, arm)
  std::map<int, uint64_t> auth_denied_;
  uint64_t events_accepted_ = 0, events_rejected_ = 0, events_unavailable_ = 0;
};

}  // namespace steward::server
