// The guardrails' evidence over every replica's events, aggregated where the events are
// (ClickHouse, issue #14): per arm exposures, users and the per-user sums the delta method needs,
// computed as one SQL query (storage::GuardrailAggregatesClickHouse), turned into the
// ExperimentMetrics the rollout controller evaluates. The same sums from SQLite
// (GuardrailAggregatesSqlite) are equal to the last bit: every aggregate is an integer.
#pragma once

#include <vector>

#include "experiment/experiment_config.h"
#include "experiment/metrics.h"
#include "serving/rollout_driver.h"
#include "storage/clickhouse.h"

namespace steward::serving {

// Metrics of `config`'s arms from aggregates (arms matched by name; other arms, e.g. "excluded",
// are left out). Per user: x = clicks | conversions | latency (ms) | errors (0: an error is never
// logged as a served list), y = exposures.
experiment::ExperimentMetrics MetricsFromAggregates(const experiment::ExperimentConfig& config,
                                                    const std::vector<storage::ArmAggregate>& aggregates);

// DriverOptions::global_evidence over the ClickHouse at `url`: the metrics over the experiment's
// whole history until `until_ms`, and the lists of every arm (the excluded included) since `from_ms`.
decltype(DriverOptions::global_evidence) ClickHouseEvidence(storage::ClickHouseUrl url);

}  // namespace steward::serving
