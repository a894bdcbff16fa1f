// Monte-Carlo check of the guardrail monitor: many simulated experiments, each analysed at every
// interval by the real Analyze(), with a known true effect. With effect 0 (A/A) the share of runs
// that roll back is the false-alarm rate; with a harmful effect it is the power.
//
// The model: users with heterogeneous click rates p_u = base * exp(0.5 z - 0.125), z ~ N(0,1)
// (mean `base`), assigned 50/50 by GrowthBook hashing of their id; each request shows a list of
// `list_size` items and each is clicked with probability p_u (times 1 + effect in treatment).
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "experiment/experiment_config.h"

namespace steward::experiment {

// Upper bounds on GuardrailSimOptions (SimulateGuardrail rejects larger values).
inline constexpr int kMaxGuardrailSimRuns = 100000;
inline constexpr int64_t kMaxGuardrailSimUsers = 10'000'000;
inline constexpr int64_t kMaxGuardrailSimRequests = 100'000'000;
inline constexpr double kMaxGuardrailSimTotalRequests = 2e9;  // runs * requests

struct GuardrailSimOptions {
  int runs = 200;
  int64_t users = 5000;
  int64_t requests = 200000;      // per run
  int64_t interval = 2000;        // requests between analyses
  double effect = 0.0;            // relative change of treatment CTR (-0.1 = a 10% drop)
  double base_ctr = 0.03;         // per item shown
  int list_size = 10;
  double alpha = 0.05;
  GuardrailTest test = GuardrailTest::kSequential;  // or kFixed (a z-test at every look: shows the inflation)
  uint64_t seed = 1;
};

struct GuardrailSimResult {
  int runs = 0;
  int alarms = 0;
  double alarm_rate = 0;
  int64_t median_exposures_to_detection = 0;  // over runs that alarmed; 0 if none
  std::vector<int64_t> exposures_to_detection;
};

StatusOr<GuardrailSimResult> SimulateGuardrail(const GuardrailSimOptions& options);

}  // namespace steward::experiment
