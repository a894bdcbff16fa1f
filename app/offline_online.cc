#include "app/offline_online.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "common/json.h"
#include "experiment/metrics.h"
#include "experiment/stats.h"
#include "serving/pipeline.h"
#include "shadow/report.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::app {
namespace {

Interval3 FromEstimate(const shadow::Estimate& e) { return {e.value, e.ci_low, e.ci_high}; }

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
  }
}

StatusOr<OfflineOnlineRun> RunSeed(const OfflineOnlineOptions& o, uint64_t seed, const std::string& db_path) {
  RemoveDatabase(db_path);
  DemoOptions d;
  d.requests = o.requests;
  d.db_path = db_path;
  d.seed = seed;
  d.data_dir = o.data_dir;
  d.experiment_file = o.experiment_file;
  d.shadow_queue = o.shadow_queue;
  d.progress = o.progress;
  d.cancel = o.cancel;
  ASSIGN_OR_RETURN(const DemoSummary demo, RunDemo(d));
  if (demo.cancelled) return FailedPrecondition("offline-online: interrupted during seed " + std::to_string(seed));
  if (demo.arms.size() < 2) return InvalidArgument(demo.experiment + ": offline vs online needs a control and a treatment arm");
  if (demo.shadow_model.empty()) return InvalidArgument(demo.experiment + ": offline vs online needs a shadow model (the treatment's)");
  OfflineOnlineRun run;
  run.seed = seed;
  run.experiment = demo.experiment;
  run.control_arm = demo.arms[0].name;
  run.control_model = demo.arms[0].model;
  run.treatment_arm = demo.arms[1].name;
  run.treatment_model = demo.arms[1].model;
  run.shadow_model = demo.shadow_model;
  run.rollout_state = demo.experiments.empty() ? "" : demo.experiments[0].state;
  run.seconds = demo.seconds;

  ASSIGN_OR_RETURN(auto db, storage::Database::Open(db_path));
  // Online: the ramp's in-experiment lists, users as the unit (the controller's own metrics).
  experiment::ExperimentMetrics metrics(2);
  int64_t ramp_start = std::numeric_limits<int64_t>::max();
  RETURN_IF_ERROR(storage::ForEachListOutcome(*db, run.experiment, std::numeric_limits<int64_t>::max(),
                                              [&](const storage::ListOutcomeRow& row) {
    const int arm = row.arm == run.control_arm ? 0 : row.arm == run.treatment_arm ? 1 : -1;
    if (arm < 0) return;  // serving::kExcludedArm (the shadow phase, users outside coverage) or a third arm
    ramp_start = std::min(ramp_start, row.ts_ms);
    experiment::RequestOutcome outcome;
    outcome.clicks = static_cast<double>(row.clicks);
    outcome.conversions = static_cast<double>(row.conversions);
    outcome.latency_ms = row.latency_us / 1000.0;
    metrics.Record(arm, row.user_id, outcome);
  }));
  if (metrics.Exposures(0) < 2 || metrics.Exposures(1) < 2) {
    return FailedPrecondition(run.experiment + " (seed " + std::to_string(seed) +
                              "): the run never ramped (fewer than 2 in-experiment lists per arm); give it more --requests");
  }
  run.ramp_start_ms = ramp_start;
  run.control_lists = metrics.Exposures(0);
  run.treatment_lists = metrics.Exposures(1);
  run.control_users = metrics.Users(0);
  run.treatment_users = metrics.Users(1);
  const auto& control = metrics.Sums(0, experiment::Metric::kCtr);
  const auto& treatment = metrics.Sums(1, experiment::Metric::kCtr);
  ASSIGN_OR_RETURN(const experiment::RatioResult online, experiment::RatioTest(control, treatment));
  run.control_ctr = online.ratio_a;
  run.treatment_ctr = online.ratio_b;
  run.online_lift = {online.rel_lift, online.rel_ci_low, online.rel_ci_high};

  // Offline: the shadow report over the shadow phase (everything before the ramp's first list).
  shadow::ShadowReportOptions report_options;
  report_options.experiment = run.experiment;
  report_options.to_ms = ramp_start;
  ASSIGN_OR_RETURN(const shadow::ShadowReport report, shadow::BuildShadowReport(*db, report_options));
  if (report.experiments.empty()) return FailedPrecondition(run.experiment + ": no shadow results before the ramp");
  const shadow::ExperimentShadowReport& e = report.experiments[0];
  if (!e.slate.estimated) return FailedPrecondition(run.experiment + ": the shadow phase gives no estimate: " + e.slate.note);
  const shadow::SlateEstimate& x = e.slate.estimate;
  run.shadow_lists = x.lists;
  run.logged_ctr = FromEstimate(x.logged);
  run.estimated_ctr = FromEstimate(x.dr);
  run.dm_ctr = FromEstimate(x.dm);
  run.offline_lift = FromEstimate(x.lift);
  run.supported_share = x.supported_share;
  run.examination = x.examination;
  run.served_diversity = e.served.diversity_index;
  run.shadow_diversity = e.shadow.diversity_index;
  run.diversity_gain = e.served.diversity_index > 0 ? e.shadow.diversity_index / e.served.diversity_index - 1 : 0.0;
  run.served_ild = e.served.intra_list_diversity;
  run.shadow_ild = e.shadow.intra_list_diversity;
  // The same estimator over the ramp's control lists: offline and online over the same period.
  report_options.to_ms = 0;
  report_options.from_ms = ramp_start;
  report_options.arm = run.control_arm;
  ASSIGN_OR_RETURN(const shadow::ShadowReport ramp_report, shadow::BuildShadowReport(*db, report_options));
  if (!ramp_report.experiments.empty() && ramp_report.experiments[0].slate.estimated) {
    const shadow::SlateEstimate& y = ramp_report.experiments[0].slate.estimate;
    run.same_period_lists = y.lists;
    run.same_period_lift = FromEstimate(y.lift);
  } else {
    run.same_period_lift = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::quiet_NaN()};
  }
  report_options.arm = run.treatment_arm;
  ASSIGN_OR_RETURN(const shadow::ShadowReport treatment_report, shadow::BuildShadowReport(*db, report_options));
  if (!treatment_report.experiments.empty()) run.shadow_treatment_overlap = treatment_report.experiments[0].overlap_at_10;
  run.same_period_deviation = run.online_lift.value != 0
                                  ? std::fabs(run.same_period_lift.value - run.online_lift.value) / std::fabs(run.online_lift.value)
                                  : std::numeric_limits<double>::quiet_NaN();
  run.deviation = run.online_lift.value != 0 ? std::fabs(run.offline_lift.value - run.online_lift.value) / std::fabs(run.online_lift.value)
                                             : std::numeric_limits<double>::quiet_NaN();
  return run;
}

std::string Percent(double v, bool sign = true) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, sign ? "%+.1f%%" : "%.1f%%", 100 * v);
  return buf;
}

std::string WithInterval(const Interval3& i) {
  if (!std::isfinite(i.ci_low) || !std::isfinite(i.ci_high)) return Percent(i.value);
  return Percent(i.value) + " [" + Percent(i.ci_low) + ", " + Percent(i.ci_high) + "]";
}

std::string Fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

nlohmann::json IntervalJson(const Interval3& i) {
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"value", num(i.value)}, {"ci_low", num(i.ci_low)}, {"ci_high", num(i.ci_high)}};
}

}  // namespace

StatusOr<OfflineOnline> RunOfflineOnline(const OfflineOnlineOptions& o) {
  if (o.seeds.empty()) return InvalidArgument("seeds must name at least one seed");
  if (o.requests < 100) return InvalidArgument("requests must be at least 100 per seed");
  std::string dir = o.work_dir;
  const bool temporary = dir.empty();
  if (temporary) {
    dir = (std::filesystem::temp_directory_path() / ("steward-offline-online-" + std::to_string(getpid()))).string();
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  OfflineOnline out;
  Status status = Status::Ok();
  for (uint64_t seed : o.seeds) {
    auto run = RunSeed(o, seed, dir + "/offline-online-seed" + std::to_string(seed) + ".db");
    if (!run.ok()) {
      status = run.status().WithContext("seed " + std::to_string(seed));
      break;
    }
    out.runs.push_back(std::move(*run));
  }
  if (temporary) std::filesystem::remove_all(dir, ec);
  RETURN_IF_ERROR(status);
  const double n = static_cast<double>(out.runs.size());
  for (const OfflineOnlineRun& r : out.runs) {
    out.offline_lift += r.offline_lift.value / n;
    out.online_lift += r.online_lift.value / n;
    out.deviation += r.deviation / n;
    out.diversity_gain += r.diversity_gain / n;
    out.max_deviation = std::max(out.max_deviation, r.deviation);
  }
  out.deviation_of_means = out.online_lift != 0 ? std::fabs(out.offline_lift - out.online_lift) / std::fabs(out.online_lift)
                                                : std::numeric_limits<double>::quiet_NaN();
  return out;
}

std::string OfflineOnlineJson(const OfflineOnline& r) {
  nlohmann::json runs = nlohmann::json::array();
  for (const OfflineOnlineRun& x : r.runs) {
    runs.push_back({{"seed", x.seed},
                    {"experiment", x.experiment},
                    {"control", {{"arm", x.control_arm}, {"model", x.control_model}}},
                    {"treatment", {{"arm", x.treatment_arm}, {"model", x.treatment_model}}},
                    {"shadow_model", x.shadow_model},
                    {"rollout_state", x.rollout_state},
                    {"offline",
                     {{"lists", x.shadow_lists}, {"until_ms", x.ramp_start_ms}, {"estimator", "position-based-dr"},
                      {"logged_ctr", IntervalJson(x.logged_ctr)}, {"estimated_ctr", IntervalJson(x.estimated_ctr)},
                      {"dm_ctr", IntervalJson(x.dm_ctr)}, {"lift", IntervalJson(x.offline_lift)},
                      {"supported_share", x.supported_share}, {"examination", x.examination}}},
                    {"online",
                     {{"control_lists", x.control_lists}, {"treatment_lists", x.treatment_lists},
                      {"control_users", x.control_users}, {"treatment_users", x.treatment_users},
                      {"control_ctr", x.control_ctr}, {"treatment_ctr", x.treatment_ctr},
                      {"lift", IntervalJson(x.online_lift)}}},
                    {"deviation", std::isfinite(x.deviation) ? nlohmann::json(x.deviation) : nlohmann::json(nullptr)},
                    {"same_period",
                     {{"lists", x.same_period_lists}, {"lift", IntervalJson(x.same_period_lift)},
                      {"deviation", std::isfinite(x.same_period_deviation) ? nlohmann::json(x.same_period_deviation) : nlohmann::json(nullptr)},
                      {"shadow_treatment_overlap", x.shadow_treatment_overlap}}},
                    {"shadow_phase",
                     {{"served_diversity_index", x.served_diversity}, {"shadow_diversity_index", x.shadow_diversity},
                      {"diversity_gain", x.diversity_gain}, {"served_intra_list_diversity", x.served_ild},
                      {"shadow_intra_list_diversity", x.shadow_ild}, {"relevance", IntervalJson(x.offline_lift)}}},
                    {"seconds", x.seconds}});
  }
  return DumpJson(nlohmann::json{{"runs", runs},
                                 {"mean",
                                  {{"offline_lift", r.offline_lift}, {"online_lift", r.online_lift},
                                   {"deviation", r.deviation}, {"max_deviation", r.max_deviation},
                                   {"deviation_of_means", std::isfinite(r.deviation_of_means) ? nlohmann::json(r.deviation_of_means) : nlohmann::json(nullptr)},
                                   {"diversity_gain", r.diversity_gain}}},
                                 {"paper", {{"offline_lift", 0.14}, {"online_lift", 0.128}, {"deviation", 0.087},
                                            {"diversity_gain", 0.20}, {"relevance_within", 0.03}}}});
}

std::string OfflineOnlineMarkdown(const OfflineOnline& r) {
  std::string out = "| figure | paper |";
  std::string rule = "|---|---|";
  for (const OfflineOnlineRun& x : r.runs) {
    out += " seed " + std::to_string(x.seed) + " |";
    rule += "---|";
  }
  out += " mean |\n" + rule + "---|\n";
  const auto row = [&](const std::string& name, const std::string& paper, auto cell, const std::string& mean) {
    out += "| " + name + " | " + paper + " |";
    for (const OfflineOnlineRun& x : r.runs) out += " " + cell(x) + " |";
    out += " " + mean + " |\n";
  };
  row("offline lift: estimated CTR of the shadow hybrid / logged CTR of the served control, shadow phase", "+14%",
      [](const OfflineOnlineRun& x) { return WithInterval(x.offline_lift); }, Percent(r.offline_lift));
  row("online lift: treatment / control CTR over the ramp", "+12.8%",
      [](const OfflineOnlineRun& x) { return WithInterval(x.online_lift); }, Percent(r.online_lift));
  row("deviation: abs(offline - online) / abs(online)", "8.7% (mean over 68 evaluations; +14% vs +12.8% is 9.4%)", [](const OfflineOnlineRun& x) { return Percent(x.deviation, false); },
      Percent(r.deviation, false) + " (worst " + Percent(r.max_deviation, false) + "; of the means " +
          Percent(r.deviation_of_means, false) + ")");
  row("diagnostic: offline lift over the ramp's control lists (same period as online)", "-",
      [](const OfflineOnlineRun& x) { return WithInterval(x.same_period_lift); }, "");
  row("diagnostic: its deviation from the online lift", "-", [](const OfflineOnlineRun& x) { return Percent(x.same_period_deviation, false); }, "");
  row("diagnostic: overlap@10 of the shadow hybrid's lists with the treatment's on the same requests", "-",
      [](const OfflineOnlineRun& x) { return Fixed(x.shadow_treatment_overlap, 3); }, "");
  row("shadow phase: diversity index, shadow / served - 1", "about +20%",
      [](const OfflineOnlineRun& x) { return Percent(x.diversity_gain); }, Percent(r.diversity_gain));
  row("shadow phase: relevance (the offline lift above)", "within 3%",
      [](const OfflineOnlineRun& x) { return Percent(x.offline_lift.value); }, Percent(r.offline_lift));
  out += "\n| seed | shadow-phase lists | logged CTR (control) | estimated CTR (hybrid, DR) [95% CI] | DM alone | "
         "supported share | diversity index served / shadow | ramp lists control / treatment | CTR control / treatment | "
         "rollout | run (s) |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const OfflineOnlineRun& x : r.runs) {
    out += "| " + std::to_string(x.seed) + " | " + std::to_string(x.shadow_lists) + " | " + Fixed(x.logged_ctr.value, 4) + " | " +
           Fixed(x.estimated_ctr.value, 4) + " [" + Fixed(x.estimated_ctr.ci_low, 4) + ", " + Fixed(x.estimated_ctr.ci_high, 4) + "] | " +
           Fixed(x.dm_ctr.value, 4) + " | " + Fixed(x.supported_share, 3) + " | " + Fixed(x.served_diversity, 3) + " / " +
           Fixed(x.shadow_diversity, 3) + " | " + std::to_string(x.control_lists) + " / " + std::to_string(x.treatment_lists) + " | " +
           Fixed(x.control_ctr, 4) + " / " + Fixed(x.treatment_ctr, 4) + " | " + x.rollout_state + " | " + Fixed(x.seconds, 0) + " |\n";
  }
  if (!r.runs.empty()) {
    const OfflineOnlineRun& x = r.runs.front();
    out += "\nExperiment `" + x.experiment + "`: control `" + x.control_model + "`, treatment `" + x.treatment_model + "`, shadow `" +
           x.shadow_model + "`. CTR = clicks per list of 10.\n";
  }
  if (!r.command.empty()) out += "\nCommand:\n\n```\n" + r.command + "\n```\n";
  return out;
}

}  // namespace steward::app
