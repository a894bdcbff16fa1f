// `steward bench serve`: the serving pipeline (serving/pipeline.h) driven from N threads over the
// simulated world's users. Requests are generated before timing; each thread serves a contiguous 1/N of them
// (paced at rate / N per thread, or as fast as it can with rate 0) and times Serve() alone (or
// Assign() with assign_only). Every fifth list gets a click (recorded after the timed call), so
// users build histories and the models learn as in production; qps counts all of it.
#pragma once

#include <cstdint>

#include "app/sim_traffic.h"
#include <string>

#include "common/status.h"

namespace steward::app {

struct ServeBenchOptions {
  bool shadow = true;        // run the shadow model beside the arms. Default: on
  double rate = 5000;        // offered requests per second over all threads; 0 = unpaced. Default: 5000
  int64_t requests = 20000;  // Default: 20000
  int threads = 1;           // Default: 1
  bool assign_only = false;  // time Assign() instead of Serve(). Default: false
  std::string model = "baseline-genre";  // both arms' model (and the shadow's). Default: baseline-genre
  std::string db_path;       // "" = nothing logged, no control plane. Default: ""
  ScreenFiles screen;        // the safety screen (policy, risk model); Default: none
  bool progress = true;
};

struct ServeBenchResult {
  double p50_us = 0, p99_us = 0;
  double qps = 0;  // requests completed per second of wall time, all threads together
  uint64_t shadow_dropped = 0;
};

StatusOr<ServeBenchResult> RunServeBench(const ServeBenchOptions& options);

}  // namespace steward::app
