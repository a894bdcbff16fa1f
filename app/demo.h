// `steward demo`: simulated traffic through the one serving path (serving/pipeline.h) under the
// control loop (serving/rollout_driver.h). A thin driver: the world makes requests and clicks; the
// pipeline assigns, serves, shadows, logs and feeds the models; the driver runs the rollout.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/demo_story.h"
#include "app/sim_traffic.h"
#include "common/status.h"
#include "data/goodbooks.h"
#include "experiment/experiment_config.h"
#include "models/recommender.h"

namespace steward::app {

struct DemoOptions {
  int64_t requests = 20000;
  std::string db_path = "steward_demo.db";
  uint64_t seed = 42;
  std::string data_dir;         // resolved by ResolveDataDir when empty
  std::string experiment_file;  // Default: <data>/experiments/demo.yaml
  std::string blocklist_file;   // optional safety blocklist
  ScreenFiles screen;           // optional safety screen: policy and risk model (sim_traffic.h)
  // Shadow tasks that may wait before new ones are dropped. The demo's traffic arrives far faster
  // than real time, so a slow shadow model (the hybrid) would drop most work at the service's
  // default (4096); the demo shadows every request, which its off-policy estimate and shadow report
  // need. Default: 1,000,000
  size_t shadow_queue = 1'000'000;
  // Writes the shadow report and the governance audit (report.json/md/html and charts) into
  // <report_dir>/shadow and <report_dir>/audit after the run. Default: "" (none).
  std::string report_dir;
  // "" (plain run), "healthy" or "regression": run the rollout controller over the experiment's
  // ramp; regression makes the treatment serve near-random items from 40% of the run onwards.
  std::string scenario;
  int list_size = 10;
  int days = 14;                // simulated days the requests are spread over
  bool progress = true;
  // Set by another thread to stop early (the dashboard's window closing, SIGINT).
  const std::atomic<bool>* cancel = nullptr;
  // Diagnostics and tests: every request handed to a served model (serving::PipelineOptions).
  std::function<void(const models::RecommendRequest&)> on_recommend;
};

struct ArmSummary {
  std::string name;
  std::string model;
  int64_t exposures = 0;
  int64_t users = 0;
  int64_t clicks = 0;
  int64_t conversions = 0;
  double ctr = 0.0;  // clicks per exposed list
  // Exposure and diversity of the arm's own lists (users outside the experiment not included), as
  // `steward audit` computes them (fairness/audit.h).
  double diversity_index = 0.0;
  double gini = 0.0;
  double coverage = 0.0;
  std::vector<double> provider_shares;  // head, mid, tail (position-weighted)
  double p50_latency_us = 0.0;
  double p99_latency_us = 0.0;
};

struct ExperimentOutcome {
  std::string name;
  std::string state;           // rollout state at the end of the run
  int step = 0;                // 1-based ramp step (0 before the ramp)
  double coverage = 0.0;
  int64_t rolled_back_at = 0;  // event time (ms) of the rollback; 0 when none
  int64_t rolled_back_at_request = 0;
  std::string reason;
  int64_t analyses = 0;
  std::string waiting_for_role;  // the role the next step waits for; "" when none
};

struct DemoSummary {
  std::string db;
  std::string experiment;
  uint64_t seed = 0;
  int64_t requests = 0;
  int64_t exposures = 0;  // read back from the database
  int64_t clicks = 0;     // read back from the database
  int64_t conversions = 0;
  int64_t excluded = 0;   // requests from users outside the experiment (served the first arm)
  // Over HTTP (--url): clicks and conversions a replica refused (e.g. their list was lost with a
  // killed replica before its commit), and requests served by another replica than the user's own
  // because it could not be reached.
  int64_t feedback_rejected = 0;
  int64_t failovers = 0;
  std::vector<ArmSummary> arms;
  std::string shadow_model;
  double shadow_overlap_at_k = 0.0;
  int64_t shadow_dropped = 0;  // shadow requests dropped because its queue was full
  // The safety screen (--policy/--risk-model): on, candidates refused, served items demoted.
  bool screened = false;
  int64_t safety_blocked = 0, safety_demoted = 0;
  double seconds = 0.0;
  int64_t audit_rows = 0;
  bool cancelled = false;
  std::string scenario;
  std::vector<ExperimentOutcome> experiments;
  std::vector<double> primary_p_values;  // Holm-adjusted, one per primary metric (treatment vs control)
  // A run on a database that already served the experiment resumes it: the lists the control loop
  // read back from storage as its guardrail evidence, and the ramp step it resumed at (1-based; 0
  // when nothing was stored).
  int64_t resumed_lists = 0;
  int resumed_step = 0;
  // What happened at each stage (shadow, ramp, review, outcome), read back from the database.
  std::vector<DemoStage> stages;
};

// What both demo drivers read before any traffic: the options checked, the bundled books and the
// experiment definition (`options.experiment_file`, default <data>/experiments/demo.yaml).
struct DemoInputs {
  std::string experiment_file;
  std::vector<data::Book> books;
  experiment::ExperimentConfig config;
};
StatusOr<DemoInputs> LoadDemoInputs(const DemoOptions& options);

StatusOr<DemoSummary> RunDemo(const DemoOptions& options);
// The same simulated world's requests and clicks sent to a running `steward serve` over HTTP
// (POST /v1/recommend, then the clicks and conversions as NDJSON to POST /v1/events), as a
// client app would. `token` needs the service role; with an admin token the experiment is created
// and started when the server does not have it yet. The server's catalog must come from the same
// data and seed (`steward serve --seed`, default 42 both). The summary's counts are what the
// server accepted; its rollout outcome is the server's (GET /v1/experiments/{name}).
StatusOr<DemoSummary> RunDemoOverHttp(const DemoOptions& options, const std::string& url, const std::string& token);

// {"requests":..., "exposures":..., "clicks":..., "db":..., ...}
std::string DemoSummaryJson(const DemoSummary& summary);
// A human-readable table.
std::string DemoSummaryText(const DemoSummary& summary);

}  // namespace steward::app
