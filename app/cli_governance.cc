// `steward audit`: governance audits (fairness/), reviewer sign-off in the ramp, and the reviewed
// samples of served lists. Flags are parsed here; every figure and rule lives in a library.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/audit_bench.h"
#include "app/cli.h"
#include "common/json.h"
#include "common/text.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/progress.h"
#include "experiment/experiment_config.h"
#include "fairness/audit.h"
#include "fairness/exposure_log.h"
#include "serving/controller.h"
#include "serving/pipeline.h"
#include "serving/rollout_driver.h"
#include "storage/experiment_store.h"

namespace steward::app {
namespace {

struct GovernanceFlags {
  std::string log, items;
  bool json = false, quiet = false;
  std::string db, experiment, window = "1d", item_groups, user_groups, out, policy;
  std::string actor, decision, reason, label, note;
  int n = 50;
  int64_t request = 0;
  uint64_t seed = 1;
  int bootstrap = 200;
};

template <typename T>
T OrFail(StatusOr<T> value) {
  if (!value.ok()) Fail(value.status());
  return std::move(value).value();
}

// --actor and --reason are one line of text in the audit log.
std::string OneLineText(const std::string& value) {
  const Status s = CheckLine(value, "value");
  return s.ok() ? std::string() : s.message();
}

// "1d", "6h", "90m" or seconds, as durations in experiment files.
int64_t WindowMs(const std::string& text) {
  auto node = ConfigNode::Parse("\"" + text + "\"", "--window");
  if (!node.ok()) Fail(InvalidArgument("--window: expected a duration such as 1d, 6h or 90m, got '" + text + "'"));
  auto ms = experiment::ParseDurationMs(*node);
  if (!ms.ok()) Fail(InvalidArgument("--window: expected a duration such as 1d, 6h or 90m, got '" + text + "'"));
  if (*ms < 60'000) Fail(InvalidArgument("--window must be at least 1m, got '" + text + "'"));
  return *ms;
}

// The experiments to audit: --experiment, or every stored experiment; each at its current version
// (verified against the audit chain).
std::vector<experiment::ExperimentConfig> ExperimentsToAudit(storage::Database& db, const std::string& name) {
  serving::RolloutController controller(db, SystemClock::Default());
  std::vector<std::string> names;
  if (!name.empty()) {
    names.push_back(name);
  } else {
    for (const auto& e : OrFail(storage::ExperimentStore(db).List())) names.push_back(e.name);
  }
  std::vector<experiment::ExperimentConfig> configs;
  for (const std::string& n : names) configs.push_back(OrFail(controller.Config(n)));
  return configs;
}

fairness::AuditOptions AuditOptionsFrom(const GovernanceFlags& f) {
  fairness::AuditOptions o;
  o.window_ms = WindowMs(f.window);
  o.bootstrap = f.bootstrap;
  o.seed = f.seed;
  o.item_groups_file = f.item_groups;
  o.user_groups_file = f.user_groups;
  o.policy_file = f.policy;
  o.computed_at_ms = SystemClock::Default().NowMillis();
  o.excluded_arm = serving::kExcludedArm;
  return o;
}

void PrintExposureAudit(const fairness::ExposureLogAudit& a) {
  std::printf("%lld lists, %lld users\n", static_cast<long long>(a.lists), static_cast<long long>(a.users));
  std::printf("  %-24s %10s %10s\n", "item group", "exposure", "target");
  for (const auto& [group, share] : a.exposure_share) {
    std::printf("  %-24s %10.4f %10.4f\n", group.c_str(), share, a.target_share.at(group));
  }
  std::printf("  exposure disparity %.4f, ratio %.4f\n", a.exposure_disparity, a.exposure_ratio);
  for (const auto& [group, g] : a.user_groups) {
    std::printf("  user group %-16s ctr %.4f over %lld lists\n", group.c_str(), g.ctr, static_cast<long long>(g.lists));
  }
  std::printf("  ctr difference %.4f, ratio %.4f\n", a.ctr_difference, a.ctr_ratio);
  std::printf("  gini %.4f  coverage %.4f  aplt %.4f  arp %.4f  diversity %.4f  novelty %.4f\n", a.gini, a.coverage, a.aplt,
              a.arp, a.diversity_index, a.novelty);
}

}  // namespace

void AddGovernanceCommands(CLI::App& app) {
  auto f = std::make_shared<GovernanceFlags>();
  auto* audit = app.add_subcommand("audit", "Governance audits: exposure parity, diversity, popularity bias, feedback loops; "
                                            "reviewer sign-off (docs/cli.md)");
  audit->require_subcommand(0, 1);
  audit->add_option("--db", f->db, "SQLite database to audit (required without a subcommand)");
  audit->add_option("--experiment", f->experiment, "Experiment to audit (Default: every experiment)");
  audit->add_option("--window", f->window, "Width of the time windows of the series (e.g. 1d, 6h)")->capture_default_str();
  audit->add_option("--item-groups", f->item_groups, "CSV item_id,group (Default: the catalog's provider popularity tiers)");
  audit->add_option("--user-groups", f->user_groups, "CSV user_id,group (Default: the attributes recorded with exposures)");
  audit->add_option("--seed", f->seed, "Seed of the bootstrap and of the sampled user pairs")->capture_default_str();
  audit->add_option("--bootstrap", f->bootstrap, "Bootstrap replicates over users (0: no intervals)")
      ->capture_default_str()->check(InRange(0, 100000));
  audit->add_flag("--json", f->json, "Print one JSON object (docs/cli.md) instead of Markdown");
  audit->add_option("--policy", f->policy, "Safety policy (YAML: blocklist, restricted categories per segment, frequency cap) "
                                          "whose broken rules are counted per arm");
  audit->add_option("--out", f->out, "Also write report.json, report.md, report.html and PNG charts into this directory");
  audit->add_flag("--quiet", f->quiet, "No progress line on stderr");
  audit->callback([f, audit] {
    if (!audit->get_subcommands().empty()) return;  // a subcommand ran
    if (f->db.empty()) Fail(InvalidArgument("steward audit needs --db PATH (or a subcommand: exposures, sign-off, sample, label)"));
    const fairness::AuditOptions base = AuditOptionsFrom(*f);
    auto db = OpenExistingDatabase(f->db, /*read_only=*/true);
    std::vector<fairness::ExperimentAudit> audits;
    for (const auto& config : ExperimentsToAudit(*db, f->experiment)) {
      Progress progress("audit " + config.name, 0, "exposures");
      progress.set_enabled(!f->quiet);
      fairness::AuditOptions options = base;
      options.progress = [&progress](uint64_t done, uint64_t) { progress.Update(done); };
      audits.push_back(OrFail(fairness::AuditExperiment(*db, config, options)));
      progress.Finish();
    }
    if (!f->out.empty()) {
      const Status written = fairness::WriteAuditFiles(audits, base, f->out);
      if (!written.ok()) Fail(written);
    }
    if (f->json) {
      PrintJsonLine(fairness::AuditReportJson(audits, base));
    } else {
      std::fputs(fairness::AuditReportMarkdown(audits).c_str(), stdout);
    }
  });

  // `steward bench audit` lives with the other benchmarks (AddBenchCommands registers `bench` first).
  CLI::App* bench = nullptr;
  for (CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return a->get_name() == "bench"; })) bench = sub;
  if (bench) {
    auto bench_options = std::make_shared<AuditBenchOptions>();
    auto* cmd = bench->add_subcommand("audit", "Time `steward audit` over a database of synthetic exposures (kept for re-runs)");
    cmd->add_option("--db", bench_options->db_path, "Where to write the database (replaced)")->required();
    cmd->add_option("--exposures", bench_options->exposures, "Exposures (lists of 10 items) to write")
        ->capture_default_str()->check(InRange(1, 100'000'000));
    cmd->add_option("--bootstrap", bench_options->bootstrap, "Bootstrap replicates of the timed audit")
        ->capture_default_str()->check(InRange(0, 100000));
    cmd->add_option("--seed", bench_options->seed, "Seed of the synthetic data and the bootstrap")->capture_default_str();
    cmd->add_option("--data", bench_options->data_dir, "Data directory (for experiments/demo.yaml)");
    cmd->add_flag("--screened", bench_options->screened, "Store a safety screen record with every list (risk per position, decisions)");
    cmd->add_flag("--json", f->json, "Print {\"exposures\", \"users\", \"generate_seconds\", \"audit_seconds\"}");
    cmd->callback([bench_options, f] {
      const AuditBenchResult r = OrFail(RunAuditBench(*bench_options));
      if (f->json) {
        PrintJsonLine(DumpJson(nlohmann::json{{"exposures", r.exposures}, {"users", r.users}, {"generate_seconds", r.generate_seconds},
                                              {"audit_seconds", r.audit_seconds}, {"bootstrap", bench_options->bootstrap}}));
      } else {
        std::printf("audit of %lld exposures (%lld users, %d bootstrap replicates): %.2f s (writing the database took %.1f s)\n",
                    static_cast<long long>(r.exposures), static_cast<long long>(r.users), bench_options->bootstrap,
                    r.audit_seconds, r.generate_seconds);
      }
    });
  }

  auto* sign_off = audit->add_subcommand(
      "sign-off", "Approve or block the ramp's next step as the reviewer, with a fresh audit as evidence (its hash, the "
                  "definitions version and the thresholds go into the audit log)");
  sign_off->add_option("--db", f->db, "SQLite database")->required();
  sign_off->add_option("--experiment", f->experiment, "Experiment name")->required();
  sign_off->add_option("--actor", f->actor, "Who signs (recorded in the audit log)")->required()->check(OneLineText);
  sign_off->add_option("--decision", f->decision, "approve or block")->required()->check(CLI::IsMember({"approve", "block"}));
  sign_off->add_option("--reason", f->reason, "Why (recorded in the audit log)")->required()->check(OneLineText);
  sign_off->add_option("--window", f->window, "Window of the audit's series")->capture_default_str();
  sign_off->add_option("--item-groups", f->item_groups, "CSV item_id,group");
  sign_off->add_option("--user-groups", f->user_groups, "CSV user_id,group");
  sign_off->add_option("--policy", f->policy, "Safety policy whose broken rules the audit counts");
  sign_off->add_option("--seed", f->seed, "Seed of the bootstrap")->capture_default_str();
  sign_off->add_option("--bootstrap", f->bootstrap, "Bootstrap replicates")->capture_default_str()->check(InRange(0, 100000));
  sign_off->add_flag("--json", f->json, "Print {\"experiment\", \"decision\", \"report_hash\", \"passed\", \"failures\", \"state\"}");
  sign_off->add_flag("--quiet", f->quiet, "No progress line on stderr");
  sign_off->callback([f] {
    const fairness::AuditOptions options = AuditOptionsFrom(*f);
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    const experiment::ExperimentConfig config = ExperimentsToAudit(*db, f->experiment).front();
    Progress progress("audit " + config.name, 0, "exposures");
    progress.set_enabled(!f->quiet);
    fairness::AuditOptions with_progress = options;
    with_progress.progress = [&progress](uint64_t done, uint64_t) { progress.Update(done); };
    const fairness::ExperimentAudit report = OrFail(fairness::AuditExperiment(*db, config, with_progress));
    progress.Finish();
    const serving::SignOff s = serving::SignOffFor(
        report, options, config.audits,
        f->decision == "approve" ? serving::SignOff::Decision::kApprove : serving::SignOff::Decision::kBlock, f->actor, f->reason);
    serving::RolloutController controller(*db, SystemClock::Default());
    const Status signed_off = controller.SignOffStep(config.name, s);
    if (!signed_off.ok()) Fail(signed_off);
    const experiment::RolloutStatus status = OrFail(controller.Status(config.name));
    if (f->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"experiment", config.name}, {"decision", f->decision}, {"report_hash", s.report_hash},
                                            {"definitions_version", s.definitions_version}, {"passed", report.passed},
                                            {"failures", report.failures}, {"state", experiment::RolloutStateName(status.state)},
                                            {"blocked", status.blocked}, {"approvals", status.approvals}}));
    } else {
      std::printf("%s %s step %d of '%s' with audit %s (%s)%s\n", f->actor.c_str(), f->decision == "approve" ? "approved" : "blocked",
                  status.step + 2, config.name.c_str(), s.report_hash.c_str(),
                  report.passed ? "every treatment check passes" : "treatment checks fail",
                  status.blocked.empty() ? "" : "; the ramp holds until an approving sign-off");
      for (const std::string& failure : report.failures) std::printf("  failing: %s\n", failure.c_str());
    }
  });

  auto* sample = audit->add_subcommand("sample", "Draw random served lists of an experiment for human review (seeded)");
  sample->add_option("--db", f->db, "SQLite database")->required();
  sample->add_option("--experiment", f->experiment, "Experiment name")->required();
  sample->add_option("--n", f->n, "Lists to draw")->capture_default_str()->check(InRange(1, 10000));
  sample->add_option("--seed", f->seed, "Seed of the draw")->capture_default_str();
  sample->add_option("--item-groups", f->item_groups, "CSV item_id,group (Default: provider tiers)");
  sample->add_flag("--json", f->json, "Print one JSON object (docs/cli.md)");
  sample->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/true);
    const experiment::ExperimentConfig config = ExperimentsToAudit(*db, f->experiment).front();
    fairness::AuditOptions options;
    options.item_groups_file = f->item_groups;
    const auto samples = OrFail(fairness::DrawReviewSample(*db, config, f->n, f->seed, options));
    if (f->json) {
      PrintJsonLine(fairness::ReviewSampleJson(config.name, f->seed, samples));
      return;
    }
    for (const fairness::ReviewSample& s : samples) {
      std::printf("request %lld  arm %s  user %s\n", static_cast<long long>(s.request_id), SanitizeLine(s.arm).c_str(),
                  SanitizeLine(s.user_key).c_str());
      for (const fairness::ReviewItem& i : s.items) {
        char risk[32] = "";
        if (i.risk >= 0) std::snprintf(risk, sizeof risk, " risk %.3f", i.risk);
        std::printf("  %2d  item %-8lld category %-3d %-8s popularity %-10.4g%s%s%s\n", i.position, static_cast<long long>(i.item_id),
                    i.category, SanitizeLine(i.group).c_str(), i.popularity, risk, i.long_tail ? " long-tail" : "", i.clicked ? " clicked" : "");
      }
      if (!s.safety.empty()) std::printf("  safety screen: %s\n", SanitizeLine(s.safety).c_str());
      for (const std::string& l : s.labels) std::printf("  label: %s\n", SanitizeLine(l).c_str());
    }
    std::printf("label a list: steward audit label --db %s --request ID --actor WHO --label ok|concern|harmful --note TEXT\n",
                f->db.c_str());
  });

  auto* label = audit->add_subcommand("label", "Record a reviewer's label of a served list (reported by `steward audit`)");
  label->add_option("--db", f->db, "SQLite database")->required();
  label->add_option("--request", f->request, "Request id of the list (from `steward audit sample`)")->required();
  label->add_option("--actor", f->actor, "Who reviewed it (recorded in the audit log)")->required()->check(OneLineText);
  label->add_option("--label", f->label, "ok, concern or harmful")->required()->check(CLI::IsMember({"ok", "concern", "harmful"}));
  label->add_option("--note", f->note, "What the reviewer saw")->check(OneLineText);
  label->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    storage::ReviewLabel l;
    l.request_id = f->request;
    l.actor = f->actor;
    l.label = f->label;
    l.note = f->note;
    l.ts_ms = SystemClock::Default().NowMillis();
    const Status saved = fairness::RecordReviewLabel(*db, l);
    if (!saved.ok()) Fail(saved.code() == StatusCode::kNotFound ? InvalidArgument("--request: " + saved.message()) : saved);
    std::printf("%s labelled request %lld: %s\n", f->actor.c_str(), static_cast<long long>(f->request), f->label.c_str());
  });

  auto* exposures = audit->add_subcommand(
      "exposures", "Audit a plain impression log that did not come from Steward (definitions: docs/metrics.md)");
  exposures->add_option("--log", f->log, "CSV request_id,user_id,user_group,item_id,position,clicked (position 1-based)")
      ->required();
  exposures->add_option("--items", f->items, "CSV item_id,group,category,popularity: the catalog")->required();
  exposures->add_flag("--json", f->json, "Print one JSON object (docs/cli.md)");
  exposures->callback([f] {
    const fairness::LogCatalog catalog = OrFail(fairness::LoadLogCatalog(f->items));
    const fairness::ExposureLog log = OrFail(fairness::LoadExposureLog(f->log, catalog));
    const fairness::ExposureLogAudit result = fairness::AuditExposureLog(log, catalog);
    if (f->json) {
      PrintJsonLine(fairness::ExposureLogAuditJson(result));
    } else {
      PrintExposureAudit(result);
    }
  });
}

}  // namespace steward::app
