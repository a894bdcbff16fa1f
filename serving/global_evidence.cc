#include "serving/global_evidence.h"

#include <climits>

namespace steward::serving {

experiment::ExperimentMetrics MetricsFromAggregates(const experiment::ExperimentConfig& config,
                                                    const std::vector<storage::ArmAggregate>& aggregates) {
  experiment::ExperimentMetrics metrics(static_cast<int>(config.arms.size()));
  for (size_t a = 0; a < config.arms.size(); ++a) {
    std::array<experiment::RatioSums, experiment::kNumMetrics> sums{};
    int64_t exposures = 0, users = 0;
    for (const storage::ArmAggregate& g : aggregates) {
      if (g.arm != config.arms[a].name) continue;
      exposures = g.exposures;
      users = g.users;
      // x scaled to the metric's unit: counts as they are, latency from microseconds to ms.
      const double scale[experiment::kNumMetrics] = {1.0, 1.0, 1e-3, 0.0};
      const int source[experiment::kNumMetrics] = {0, 1, 2, 0};
      for (int m = 0; m < experiment::kNumMetrics; ++m) {
        experiment::RatioSums& s = sums[static_cast<size_t>(m)];
        const double k = scale[m];
        const int i = source[m];
        s.n = static_cast<double>(g.users);
        s.sy = static_cast<double>(g.sy);
        s.syy = static_cast<double>(g.syy);
        s.sx = k * static_cast<double>(g.sx[i]);
        s.sxx = k * k * static_cast<double>(g.sxx[i]);
        s.sxy = k * static_cast<double>(g.sxy[i]);
      }
    }
    metrics.SetArmTotals(static_cast<int>(a), exposures, users, sums);
  }
  return metrics;
}

decltype(DriverOptions::global_evidence) ClickHouseEvidence(storage::ClickHouseUrl url) {
  return [url](const experiment::ExperimentConfig& config, int64_t from_ms, int64_t until_ms) -> StatusOr<DriverOptions::GlobalEvidence> {
    storage::ClickHouseClient client(url);
    DriverOptions::GlobalEvidence evidence;
    ASSIGN_OR_RETURN(const std::vector<storage::ArmAggregate> all, storage::GuardrailAggregatesClickHouse(client, url, config.name, 0, until_ms));
    evidence.metrics = MetricsFromAggregates(config, all);
    if (from_ms > 0) {
      ASSIGN_OR_RETURN(const std::vector<storage::ArmAggregate> since,
                       storage::GuardrailAggregatesClickHouse(client, url, config.name, from_ms, until_ms));
      for (const auto& g : since) evidence.lists += g.exposures;
    } else {
      for (const auto& g : all) evidence.lists += g.exposures;
    }
    return evidence;
  };
}

}  // namespace steward::serving
