#include "experiment/guardrail_sim.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/rng.h"
#include "experiment/assigner.h"
#include "experiment/metrics.h"
#include "experiment/rollout.h"

namespace steward::experiment {

StatusOr<GuardrailSimResult> SimulateGuardrail(const GuardrailSimOptions& o) {
  if (o.runs < 1 || o.users < 2 || o.requests < 1 || o.interval < 1) {
    return InvalidArgument("guardrail simulation needs runs >= 1, users >= 2, requests >= 1, interval >= 1");
  }
  // Bounds on the work, so no option value makes the simulation run for days (docs/cli.md).
  if (o.runs > kMaxGuardrailSimRuns || o.users > kMaxGuardrailSimUsers || o.requests > kMaxGuardrailSimRequests ||
      static_cast<double>(o.runs) * static_cast<double>(o.requests) > kMaxGuardrailSimTotalRequests) {
    return InvalidArgument("guardrail simulation is bounded: runs <= " + std::to_string(kMaxGuardrailSimRuns) +
                           ", users <= " + std::to_string(kMaxGuardrailSimUsers) + ", requests <= " +
                           std::to_string(kMaxGuardrailSimRequests) + " per run and runs * requests <= 2e9; got runs " +
                           std::to_string(o.runs) + ", users " + std::to_string(o.users) + ", requests " +
                           std::to_string(o.requests));
  }
  if (!(o.base_ctr > 0 && o.base_ctr * (1 + std::max(o.effect, 0.0)) * 2 < 1)) {
    return InvalidArgument("base_ctr must be in (0, 0.5) and keep (1 + effect) * base below 0.5");
  }
  ExperimentConfig config;
  config.name = "guardrail-sim";
  config.arms = {{"control", "a", 0.5}, {"treatment", "b", 0.5}};
  GuardrailConfig guardrail;
  guardrail.metric = Metric::kCtr;
  guardrail.harm = HarmDirection::kDecrease;
  guardrail.alpha = o.alpha;
  guardrail.test = o.test;
  config.guardrails = {guardrail};
  config.evaluation.failure_limit = 1 << 30;  // this simulation is about guardrails only
  config.evaluation.min_users_per_arm = 100;

  GuardrailSimResult result;
  result.runs = o.runs;
  Rng root(o.seed);
  for (int run = 0; run < o.runs; ++run) {
    Rng rng = root.Fork(static_cast<uint64_t>(run));
    config.seed = "guardrail-sim-" + std::to_string(run);
    Assigner assigner(config);
    std::vector<double> rate(static_cast<size_t>(o.users));
    std::vector<int> arm(static_cast<size_t>(o.users));
    for (int64_t u = 0; u < o.users; ++u) {
      rate[static_cast<size_t>(u)] = o.base_ctr * std::exp(0.5 * rng.Normal() - 0.125);
      arm[static_cast<size_t>(u)] = assigner.Assign(std::to_string(u)).arm_index;
    }
    ExperimentMetrics metrics(2);
    RolloutStatus status;
    status.state = RolloutState::kRamping;
    status.step = 0;
    for (int64_t r = 1; r <= o.requests; ++r) {
      const int64_t u = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(o.users)));
      const int a = arm[static_cast<size_t>(u)];
      const double p = std::min(1.0, rate[static_cast<size_t>(u)] * (a == 1 ? 1.0 + o.effect : 1.0));
      RequestOutcome outcome;
      for (int i = 0; i < o.list_size; ++i) outcome.clicks += rng.Bernoulli(p) ? 1 : 0;
      metrics.Record(a, u, outcome);
      if (r % o.interval == 0) {
        const Analysis analysis = Analyze(config, status, metrics, r);
        if (analysis.action == Action::kRollback) {
          ++result.alarms;
          result.exposures_to_detection.push_back(r);
          break;
        }
      }
    }
  }
  result.alarm_rate = static_cast<double>(result.alarms) / static_cast<double>(result.runs);
  if (!result.exposures_to_detection.empty()) {
    std::vector<int64_t> sorted = result.exposures_to_detection;
    std::sort(sorted.begin(), sorted.end());
    result.median_exposures_to_detection = sorted[(sorted.size() - 1) / 2];
  }
  return result;
}

}  // namespace steward::experiment
