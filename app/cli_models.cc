#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "serving/safety_policy.h"
#include "common/json.h"
#include "data/obd.h"
#include "models/bandit.h"
#include "shadow/replay.h"
#include "safety/blocklist_filter.h"
#include "shadow/report.h"
#include "storage/audit_log.h"
#include "storage/queries.h"
#include <filesystem>
#include <fstream>
#include "app/simulate.h"
#include "app/paths.h"
#include "common/progress.h"
#include "data/goodbooks.h"
#include "shadow/ope.h"
#include "shadow/ope_data.h"
#include "sim/world.h"
#include <array>
#include <cstdlib>
#include <chrono>
#include <sstream>

namespace steward::app {
namespace {

struct ModelFlags {
  std::string log, policy = "linucb";
  uint64_t seed = 1;
  bool json = false;
  bool synthetic = false;
  std::string scenario = "genre-shelf";
  std::string slate = "per-position";
  int64_t n = 100000;
  int repeats = 0;
  int bootstrap = 0;
  std::string estimators = "ips,snips,dm,dr,switch-dr,dros";
  std::string data_dir;
  int64_t rows = 1000000;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

nlohmann::json EstimatesJson(const std::map<std::string, shadow::Estimate>& estimates) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, e] : estimates) {
    j[name] = {{"value", e.value}, {"ci_low", e.ci_low}, {"ci_high", e.ci_high}};  // NaN prints as null
    if (!e.ci_undefined.empty()) j[name]["ci_undefined"] = e.ci_undefined;
  }
  return j;
}

StatusOr<sim::World> DefaultWorld(const std::string& data_dir, uint64_t seed) {
  ASSIGN_OR_RETURN(auto books, data::LoadGoodbooks(ResolveDataDir(data_dir) + "/goodbooks/books.csv"));
  sim::WorldConfig wc;
  wc.seed = seed;
  return sim::World::Create(books, wc);
}

}  // namespace

void AddModelCommands(CLI::App& app) {
  auto f = std::make_shared<ModelFlags>();
  auto sim = std::make_shared<SimulateOptions>();
  auto* simulate = app.add_subcommand("simulate", "Serve the simulated world with one policy and report quality metrics");
  simulate->add_option("--policy", sim->policy, "baseline, hybrid, popularity or baseline-genre")
      ->capture_default_str()
      ->check(CLI::IsMember({"baseline", "hybrid", "popularity", "baseline-genre", "baseline-egreedy"}));
  simulate->add_option("--users", sim->users, "Users at the start")->capture_default_str()->check(InRange(1, 1e6));
  simulate->add_option("--days", sim->days, "Simulated days")->capture_default_str()->check(InRange(1, 3650));
  simulate->add_option("--seed", sim->seed, "Seed of the world and the policy")->capture_default_str();
  simulate->add_option("--rate", sim->requests_per_user_day, "Requests per user per day")->capture_default_str();
  simulate->add_option("--data", sim->data_dir, "Data directory");
  simulate->add_flag("--json", f->json, "Print one JSON object as the last line");
  simulate->add_option("--fairness-constraint", sim->fairness_constraint,
                       "Exposure constraint in the hybrid's re-ranker over item groups: provider (head/mid/tail)")
      ->check(CLI::IsMember({"provider"}));
  auto* tolerance = simulate->add_option("--tolerance", sim->fairness_tolerance,
                                         "With --fairness-constraint: band around each group's target exposure share left uncorrected, in [0, 1)")
                        ->capture_default_str()
                        ->check(CLI::Range(0.0, 0.999999));
  simulate->add_option("--constraint-log", sim->constraint_log,
                       "With --fairness-constraint: write the constraint's per-request evidence here (JSON lines)");
  // Feedback-loop ablation and the world's size (issue #12, docs/cli.md).
  simulate->add_option("--dampening", sim->dampening,
                       "Hybrid's feedback-loop dampening: full, none, no-exploration, no-session-cap or no-diversity")
      ->capture_default_str();
  simulate->add_option("--retrain", sim->retrain,
                       "How the hybrid weights logged pairs when fine-tuning embeddings: plain, ips (1/propensity, clipped) or balanced "
                       "(equal draws per popularity group)")
      ->capture_default_str();
  simulate->add_option("--window-days", sim->window_days, "Window of the homogenization and exposure-Gini series, in days")
      ->capture_default_str();
  simulate->add_option("--homogenization-pairs", sim->homogenization_pairs, "User pairs sampled for homogenization")->capture_default_str();
  simulate->add_option("--catalog-items", sim->catalog_items, "Keep every n-th book so this many remain (0: all 10,000)")
      ->capture_default_str();
  simulate->add_option("--new-item-share", sim->new_item_share, "Share of the catalog (the newest books) released during the run")
      ->capture_default_str();
  simulate->add_option("--quality-horizon", sim->quality_horizon,
                       "New users' requests measured for interactions-to-quality (censored beyond)")
      ->capture_default_str();
  auto targets_text = std::make_shared<std::string>();
  auto* targets = simulate->add_option("--fairness-targets", *targets_text,
                                       "With --fairness-constraint: target exposure shares HEAD,MID,TAIL summing to 1 "
                                       "(default: each group's share of the catalog)");
  simulate->callback([f, sim, tolerance, targets, targets_text] {
    SimulateOptions o = *sim;
    if (sim->fairness_constraint.empty() && tolerance->count() > 0) Fail(InvalidArgument("--tolerance needs --fairness-constraint provider"));
    if (sim->fairness_constraint.empty() && targets->count() > 0) Fail(InvalidArgument("--fairness-targets needs --fairness-constraint provider"));
    if (targets->count() > 0) {
      for (const std::string& part : SplitList(*targets_text)) {
        char* end = nullptr;
        const double v = std::strtod(part.c_str(), &end);
        if (end == part.c_str() || *end != '\0') Fail(InvalidArgument("--fairness-targets: '" + part + "' is not a number"));
        o.fairness_targets.push_back(v);
      }
      if (o.fairness_targets.size() != 3) Fail(InvalidArgument("--fairness-targets needs 3 shares (head,mid,tail)"));
    }
    o.cancel = &Interrupted();
    auto r = RunSimulation(o);
    if (!r.ok()) Fail(r.status());
    if (f->json) {
      PrintJsonLine(SimulateResultJson(*r));
    } else {
      std::printf("%s: CTR %.4f, diversity %.3f, sequential similarity %.3f, coverage %.3f, gini %.3f, new users %.0f "
                  "interactions to quality, new items %.2f days to signal, provider exposure disparity %.3f%s, homogenization %.4f -> %.4f "
                  "(%zu windows of %d day(s)) (%.1f s)\n",
                  r->policy.c_str(), r->ctr, r->diversity_index, r->sequential_similarity, r->coverage, r->gini,
                  r->new_user_interactions_to_quality, r->new_item_days_to_signal, r->exposure_disparity,
                  r->constraint ? " (constrained)" : "",
                  r->homogenization_series.empty() ? 0.0 : r->homogenization_series.front(),
                  r->homogenization_series.empty() ? 0.0 : r->homogenization_series.back(), r->homogenization_series.size(),
                  r->window_days, r->seconds);
    }
  });

  auto* ope = app.add_subcommand("ope", "Off-policy evaluation: IPS, SNIPS, DM, DR, Switch-DR, DRos with intervals and weight diagnostics");
  ope->add_flag("--synthetic", f->synthetic, "Evaluate on a log generated from the simulated world, where the truth is known");
  ope->add_option("--scenario", f->scenario,
                  "Synthetic decision: genre-shelf (which genre shelf opens the home page; reward: the next book is from it) "
                  "or item-click (which popular item fills one slot; reward: a click)")
      ->capture_default_str();
  ope->add_option("--n", f->n, "Rows per synthetic log")->capture_default_str()->check(InRange(1, 1e7));
  ope->add_option("--repeats", f->repeats, "Independent synthetic logs for the mean squared error of each estimator")->check(InRange(0, 1000));
  ope->add_option("--log", f->log, "OBD log with logged propensities (e.g. data/obd/bts/men/men.csv)");
  ope->add_option("--policy", f->policy, "Evaluated policy on --log: uniform, linucb, lints or egreedy")
      ->check(CLI::IsMember({"uniform", "linucb", "lints", "egreedy"}));
  ope->add_option("--slate", f->slate,
                  "How --log positions enter the weights: per-position (pi_e(a at k)/pi_0(a at k)) or position-based "
                  "(examination model pooling the positions)")
      ->capture_default_str();
  ope->add_option("--estimators", f->estimators, "Comma-separated estimators")->capture_default_str();
  ope->add_option("--bootstrap", f->bootstrap, "Bootstrap resamples for percentile intervals (0: CLT intervals)")->check(InRange(0, 10000));
  ope->add_option("--seed", f->seed, "Seed")->capture_default_str();
  ope->add_option("--data", f->data_dir, "Data directory");
  ope->add_flag("--json", f->json, "Print one JSON object");
  ope->callback([f] {
    shadow::OpeOptions options;
    options.bootstrap = f->bootstrap;
    options.seed = f->seed;
    const auto estimators = SplitList(f->estimators);
    nlohmann::json out;
    if (f->synthetic == !f->log.empty()) Fail(InvalidArgument("give either --synthetic or --log FILE"));
    if (f->synthetic) {
      auto world = DefaultWorld(f->data_dir, 42);
      if (!world.ok()) Fail(world.status());
      auto scenario = sim::ParseSyntheticScenario(f->scenario);
      if (!scenario.ok()) Fail(scenario.status());
      const sim::SyntheticOpe synthetic(*world, *scenario, 20);
      const shadow::OpeData d = shadow::FromSyntheticLog(synthetic.Generate(f->n, 0.15, f->seed));
      auto estimates = shadow::Evaluate(d, estimators, options);
      if (!estimates.ok()) Fail(estimates.status());
      const shadow::OpeDiagnostics g = shadow::Diagnose(d);
      out = {{"scenario", f->scenario}, {"true_value", synthetic.true_value()}, {"logging_value", synthetic.logging_value()}, {"n", f->n},
             {"estimates", EstimatesJson(*estimates)}, {"ess", g.ess}, {"max_weight", g.max_weight}};
      if (f->repeats > 0) {
        std::map<std::string, double> se;
        Progress progress("ope repeats", static_cast<uint64_t>(f->repeats), "logs");
        progress.set_enabled(!f->json);
        for (int r = 0; r < f->repeats; ++r) {
          const shadow::OpeData rep =
              shadow::FromSyntheticLog(synthetic.Generate(f->n, 0.15, Mix64(f->seed * 1000003ULL + static_cast<uint64_t>(r) + 1)));
          shadow::OpeOptions clt = options;
          clt.bootstrap = 0;
          auto e = shadow::Evaluate(rep, estimators, clt);
          if (!e.ok()) Fail(e.status());
          for (const auto& [name, est] : *e) se[name] += (est.value - synthetic.true_value()) * (est.value - synthetic.true_value());
          progress.Update(static_cast<uint64_t>(r + 1));
        }
        progress.Finish();
        nlohmann::json mse = nlohmann::json::object();
        for (auto& [name, total] : se) mse[name] = total / f->repeats;
        out["mse"] = mse;
        out["repeats"] = f->repeats;
      }
    } else {
      if (f->policy.empty()) Fail(InvalidArgument("--log needs --policy uniform|linucb|lints|egreedy"));
      auto log = data::LoadObdLog(f->log);
      if (!log.ok()) Fail(log.status());
      auto slate = shadow::ParseSlateModel(f->slate);
      if (!slate.ok()) Fail(slate.status());
      shadow::ObdOpeOptions obd;
      obd.policy = f->policy;
      obd.slate = *slate;
      obd.seed = f->seed;
      auto built = shadow::BuildObdOpe(*log, obd);
      if (!built.ok()) Fail(built.status());
      auto estimates = shadow::Evaluate(built->data, estimators, options);
      if (!estimates.ok()) Fail(estimates.status());
      const shadow::OpeDiagnostics g = shadow::Diagnose(built->data);
      out = {{"log", f->log}, {"policy", f->policy}, {"slate", f->slate}, {"examination", built->examination},
             {"rows", built->rows_evaluated}, {"note", built->note},
             {"estimates", EstimatesJson(*estimates)}, {"ess", g.ess}, {"max_weight", g.max_weight},
             {"mean_weight", g.mean_weight}, {"unreliable", g.unreliable}};
      std::string warning = g.warning;
      for (const auto& [name, e] : *estimates) {
        if (e.ci_undefined.empty()) continue;
        warning += (warning.empty() ? "" : "; ") + name + " has no interval: " + e.ci_undefined;
      }
      out["unreliable"] = !warning.empty();
      if (!warning.empty()) {
        out["warning"] = warning.rfind("importance-weighted", 0) == 0 ? warning : "estimates are unreliable: " + warning;
        std::fprintf(stderr, "steward: warning: %s\n", out["warning"].get<std::string>().c_str());
      }
    }
    if (f->json) {
      PrintJsonLine(DumpJson(out));
    } else {
      std::printf("%s\n", DumpJson(out, 2).c_str());
    }
  });

  auto report_flags = std::make_shared<std::array<std::string, 4>>();  // db, experiment, out, policy
  auto* shadow_cmd = app.add_subcommand("shadow", "Shadow-mode comparisons of served and shadow lists");
  shadow_cmd->require_subcommand(1);
  auto* report = shadow_cmd->add_subcommand("report", "Per experiment: overlap, RBO, Kendall tau, diversity, novelty, coverage, latency, errors, drops, policy violations");
  report->add_option("--db", (*report_flags)[0], "SQLite database")->required();
  report->add_option("--experiment", (*report_flags)[1], "Only this experiment");
  report->add_option("--out", (*report_flags)[2], "Write report.json, report.md, report.html and PNG charts into this directory");
  report->add_option("--policy", (*report_flags)[3], "Safety blocklist (YAML: items, reason) to count policy violations of both sides");
  report->add_flag("--json", f->json, "Print {\"experiments\": [...]}");
  report->callback([f, report_flags] {
    auto db = OpenExistingDatabase((*report_flags)[0], /*read_only=*/true);
    shadow::ShadowReportOptions options;
    options.experiment = (*report_flags)[1];
    // The policy: --policy FILE for every experiment; otherwise the one each experiment's run
    // recorded in the audit log (action safety.policy), if any.
    auto policies = serving::ResolveSafetyPolicies(*db, (*report_flags)[3], options);
    if (!policies.ok()) Fail(policies.status().WithContext("--policy"));
    auto r = shadow::BuildShadowReport(*db, options);
    if (!r.ok()) Fail(r.status());
    if (!options.experiment.empty() && r->experiments.empty()) {
      Fail(NotFound("no shadow results for experiment '" + options.experiment + "'; run it with a shadow model"));
    }
    if (const std::string& out = (*report_flags)[2]; !out.empty()) {
      if (Status st = shadow::WriteShadowReportFiles(*r, out); !st.ok()) Fail(st);
    }
    if (f->json) {
      PrintJsonLine(shadow::ShadowReportJson(*r));
    } else {
      std::printf("%s", shadow::ShadowReportMarkdown(*r).c_str());
    }
  });

  auto* replay = app.add_subcommand("replay", "Replay evaluation (Li et al. 2011) of a bandit policy on a uniformly random OBD log");
  replay->add_option("--log", f->log, "OBD log collected by the random policy, e.g. data/obd/random/men/men.csv")->required();
  replay->add_option("--policy", f->policy, "random, egreedy, linucb or lints")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "egreedy", "linucb", "lints", "bts"}));
  replay->add_option("--seed", f->seed, "Seed of the policy's randomness")->capture_default_str();
  replay->add_flag("--json", f->json, "Print {\"matched\", \"clicks\", \"ctr\", \"ci_low\", \"ci_high\", ...}");
  replay->callback([f] {
    auto policy = models::ParsePolicy(f->policy);
    if (!policy.ok()) Fail(policy.status());
    auto log = data::LoadObdLog(f->log);
    if (!log.ok()) Fail(log.status());
    auto r = shadow::Replay(*log, *policy, f->seed);
    if (!r.ok()) Fail(r.status());
    nlohmann::json j = {{"policy", r->policy}, {"log", f->log},         {"events", r->events}, {"matched", r->matched},
                              {"clicks", r->clicks}, {"ctr", r->ctr},         {"ci_low", r->ci_low}, {"ci_high", r->ci_high},
                              {"seed", f->seed},     {"interval", "wilson95"}};  // NaN (no match) prints as null
    if (!r->undefined.empty()) {
      j["undefined"] = r->undefined;
      std::fprintf(stderr, "steward: warning: %s\n", r->undefined.c_str());
    }
    if (f->json) {
      PrintJsonLine(DumpJson(j));
    } else if (!r->undefined.empty()) {
      std::printf("%s on %s: 0 of %lld events matched; CTR undefined\n", r->policy.c_str(), f->log.c_str(),
                  static_cast<long long>(r->events));
    } else {
      std::printf("%s on %s: %lld of %lld events matched, %lld clicks, CTR %.4f (95%% CI %.4f to %.4f)\n", r->policy.c_str(),
                  f->log.c_str(), static_cast<long long>(r->matched), static_cast<long long>(r->events),
                  static_cast<long long>(r->clicks), r->ctr, r->ci_low, r->ci_high);
    }
  });
}

}  // namespace steward::app
