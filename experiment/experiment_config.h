// Experiment definitions as files (YAML; JSON accepted). Validated on load: every error names the
// file, the field and the fix. See docs/experiments.md for the format.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/config.h"
#include "experiment/audit_config.h"
#include "common/status.h"

namespace steward::experiment {

// Bounds checked on load (docs/experiments.md): larger values are rejected naming the field, not
// truncated or overflowed.
inline constexpr int64_t kMaxDurationMs = int64_t{3650} * 86'400'000;  // durations: 10 years
inline constexpr int64_t kMaxFailureLimit = 1000;                     // evaluation.failure_limit
inline constexpr int64_t kMaxBucketVersion = 2147483647;              // bucket_version (an int)

// A serving-time exposure constraint on an arm's model (issue #12; the hybrid's re-ranker,
// models/exposure_constraint.h): `fairness_constraint: {groups: provider, tolerance: 0.03,
// targets: {head: 0.3, mid: 0.3, tail: 0.4}}`.
struct FairnessConstraintConfig {
  std::string groups = "provider";  // the item attribute that forms the groups; only provider. Default: provider
  double tolerance = 0.03;          // in [0, 1). Default: 0.03
  // Target exposure share of the provider groups head, mid, tail (in that order), each in [0, 1],
  // summing to 1 (within 0.001). Default: empty = each group's share of the catalog.
  std::vector<double> targets;
};

struct ArmConfig {
  std::string name;
  std::string model;  // recommender that serves this arm (see models/registry.h)
  double weight = 0.0;
  std::optional<FairnessConstraintConfig> fairness_constraint;  // Default: none
  // Exploration of a `baseline-egreedy` arm: each position is a uniformly drawn eligible item with
  // this probability (logged with its exact propensity). Only valid with that model. Default: none
  // (the model's own 0.1).
  std::optional<double> epsilon;
};

struct NamespaceConfig {
  std::string name;
  double start = 0.0;
  double end = 1.0;
};

// Metrics the platform computes per arm, each a ratio of per-user sums with users as the
// randomisation unit (delta method): see experiment/metrics.h.
enum class Metric { kCtr = 0, kConversionRate = 1, kLatencyMs = 2, kErrorRate = 3 };
inline constexpr int kNumMetrics = 4;
const char* MetricName(Metric m);
// "ctr", "conversion_rate", "latency_ms", "error_rate".
StatusOr<Metric> ParseMetric(const std::string& name);

struct RampStep {
  double coverage = 0.0;          // share of users in the experiment at this step
  int64_t min_duration_ms = 0;    // event time the step must last before advancing. Default: 0
  int64_t min_users_per_arm = 0;  // users each arm needs before advancing. Default: 0
  std::string approval;           // role that must approve entering this step; "" for none
};

enum class HarmDirection { kDecrease, kIncrease };  // which change of the metric is harmful

// kSequential: always-valid mSPRT p-value, safe to check at every analysis; kFixed: a z-test at
// each look (inflates false alarms under peeking; kept for comparison).
enum class GuardrailTest { kSequential, kFixed };
const char* GuardrailTestName(GuardrailTest t);  // "sequential" | "fixed"
StatusOr<GuardrailTest> ParseGuardrailTest(const std::string& name);

struct GuardrailConfig {
  Metric metric = Metric::kCtr;
  HarmDirection harm = HarmDirection::kDecrease;
  double threshold = 0.0;   // tolerated harm before a breach (non-inferiority margin). Default: 0
  bool relative = true;     // threshold relative to control's value (true) or absolute. Default: relative
  GuardrailTest test = GuardrailTest::kSequential;  // `test: sequential` (default) or `test: fixed`
  double alpha = 0.05;      // false-alarm bound over the whole experiment. Default: 0.05
};

struct EvaluationConfig {
  int64_t interval_ms = 15 * 60 * 1000;  // event time between analyses. Default: 15m
  int failure_limit = 3;          // consecutive failed health checks tolerated before rollback. Default: 3
  int64_t min_users_per_arm = 100;  // guardrails are judged once each arm has this many users. Default: 100
};

struct DecisionConfig {
  std::vector<Metric> primary_metrics;  // Default: [ctr]
  double alpha = 0.05;                  // Default: 0.05 (Holm-corrected across primary metrics)
  double power = 0.8;                   // Default: 0.8
  double mde = 0.05;                    // relative minimum detectable effect. Default: 0.05
};

enum class ExperimentType { kAB, kInterleaving };

// When the shadow phase ends and the ramp starts (the control loop checks at each analysis): both
// conditions must hold. `shadow: {model: M, min_duration: 1d, min_requests: 1000}`.
struct ShadowPhaseConfig {
  int64_t min_duration_ms = 0;  // event time in shadow. Default: 0
  int64_t min_requests = 0;     // requests served (and shadowed) during the phase. Default: 0
};

struct ExperimentConfig {
  std::string name;
  std::string seed;                       // Default: name
  std::string hash_attribute = "user_id";  // the only attribute supported (others are rejected)
  int hash_version = 2;                   // 1 or 2. Default: 2
  double coverage = 1.0;                  // share of eligible users in the experiment. Default: 1
  std::vector<ArmConfig> arms;            // at least two; weights sum to 1
  std::optional<NamespaceConfig> namespace_;
  std::string shadow_model;               // model run in shadow beside the served one; "" for none
  ShadowPhaseConfig shadow;               // when the shadow phase may end
  // User attributes recorded with every exposure (for user-group audits), e.g. [age_band, country].
  std::vector<std::string> attributes;
  ExperimentType type = ExperimentType::kAB;  // "ab" (default) or "interleaving" (team draft)
  std::vector<RampStep> ramp;             // empty: no ramp (the experiment runs at `coverage`)
  std::vector<GuardrailConfig> guardrails;
  EvaluationConfig evaluation;
  DecisionConfig decision;
  bool sticky = false;                    // keep users in their arm when weights change. Default: false
  int bucket_version = 1;                 // bump to re-randomise sticky users. Default: 1
  AuditsConfig audits;                    // governance thresholds (`audits:`); none by default
  std::string source_json;                // the validated definition, stored with each version
};

// `known_models`: when not empty, every arm's model and the shadow model must be one of them (the
// CLI passes app::ModelNames(); the library does not know the model registry). Default: no check.
StatusOr<ExperimentConfig> ParseExperimentConfig(const ConfigNode& root, std::span<const std::string> known_models = {});
// "90s", "15m", "2h", "1d" or a number of seconds.
StatusOr<int64_t> ParseDurationMs(const ConfigNode& node);
StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path, std::span<const std::string> known_models = {});

}  // namespace steward::experiment
