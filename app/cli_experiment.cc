#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "app/model_factory.h"
#include "common/json.h"
#include "common/clock.h"
#include "common/text.h"
#include "serving/controller.h"
#include "experiment/guardrail_sim.h"
#include "experiment/rollout.h"
#include "storage/audit_log.h"
#include "storage/json.h"
#include "storage/database.h"
#include "storage/experiment_store.h"

namespace steward::app {
namespace {

struct ExperimentFlags {
  std::string db, file, name, reason, actor, role;
  int64_t version = 0;
  bool json = false, on = false, off = false;
  experiment::GuardrailSimOptions sim;
  std::string sim_test = "sequential";
};

void Check(const Status& s) {
  if (!s.ok()) Fail(s);
}

// --actor, --reason and --role are one line of text in the audit log: no control characters.
std::string OneLine(const std::string& value) {
  const Status s = CheckLine(value, "value");
  return s.ok() ? std::string() : s.message();
}

CLI::App* WithTarget(CLI::App* cmd, ExperimentFlags& f, bool reason_required) {
  cmd->add_option("--db", f.db, "SQLite database")->required();
  cmd->add_option("--name", f.name, "Experiment name")->required();
  cmd->add_option("--actor", f.actor, "Who is acting (recorded in the audit log)")->required()->check(OneLine);
  auto* reason = cmd->add_option("--reason", f.reason, "Why (recorded in the audit log)")->check(OneLine);
  if (reason_required) reason->required();
  return cmd;
}

}  // namespace

void AddExperimentCommands(CLI::App& app) {
  auto f = std::make_shared<ExperimentFlags>();
  auto* exp = app.add_subcommand("experiment", "Define, ramp, approve, promote and roll back experiments");
  exp->require_subcommand(1);

  auto* validate = exp->add_subcommand("validate", "Check an experiment file; errors name the field and the fix");
  validate->add_option("file", f->file, "Experiment definition (YAML or JSON)")->required();
  validate->add_flag("--json", f->json, "Print the parsed definition as JSON");
  validate->callback([f] {
    auto config = experiment::LoadExperimentConfig(f->file, ModelNames());
    if (!config.ok()) Fail(config.status());
    if (f->json) {
      PrintJsonLine(config->source_json);
    } else {
      std::printf("ok: '%s', %zu arms, %zu ramp steps, %zu guardrails%s\n", config->name.c_str(), config->arms.size(),
                  config->ramp.size(), config->guardrails.size(),
                  config->shadow_model.empty() ? "" : (", shadow model " + config->shadow_model).c_str());
    }
  });

  auto* create = exp->add_subcommand("create", "Save an experiment definition (a new version if it changed)");
  create->add_option("--db", f->db, "SQLite database (created if missing)")->required();
  create->add_option("--file", f->file, "Experiment definition")->required();
  create->add_option("--actor", f->actor, "Who is saving it (required to change a live experiment; default for a new one: cli)")
      ->check(OneLine);
  create->add_option("--reason", f->reason, "Why (required to change a live experiment)")->check(OneLine);
  create->callback([f] {
    auto config = experiment::LoadExperimentConfig(f->file, ModelNames());
    if (!config.ok()) Fail(config.status());
    auto db = storage::Database::Open(f->db);
    if (!db.ok()) Fail(db.status());
    serving::RolloutController controller(**db, SystemClock::Default());
    auto existing = controller.Status(config->name);
    auto current = controller.Config(config->name);
    const bool live = existing.ok() && existing->state != experiment::RolloutState::kDraft && current.ok() &&
                      current->source_json != config->source_json;
    if (live && (f->actor.empty() || f->reason.empty())) {
      Fail(InvalidArgument("experiment '" + config->name + "' is " + experiment::RolloutStateName(existing->state) +
                           ": changing it needs --actor NAME and --reason \"why\""));
    }
    auto version = controller.Create(*config, f->actor.empty() ? "cli" : f->actor, f->reason);
    if (!version.ok()) Fail(version.status());
    auto after = controller.Status(config->name);
    if (after.ok() && after->pending_version == *version) {
      std::string roles;
      for (const auto& r : after->pending_roles) roles += (roles.empty() ? "" : ", ") + r;
      std::printf("experiment '%s': version %lld proposed; it takes effect once approved by %s "
                  "(`steward experiment approve --version %lld --role ROLE`)\n",
                  config->name.c_str(), static_cast<long long>(*version), roles.c_str(), static_cast<long long>(*version));
      return;
    }
    std::printf("experiment '%s' saved as version %lld\n", config->name.c_str(), static_cast<long long>(*version));
  });

  auto* status = exp->add_subcommand("status", "State, step, coverage and guardrails of every experiment");
  status->add_option("--db", f->db, "SQLite database")->required();
  status->add_flag("--json", f->json, "Print {\"experiments\": [...]}");
  status->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/true);
    serving::RolloutController controller(*db, SystemClock::Default());
    auto all = storage::ExperimentStore(*db).List();
    if (!all.ok()) Fail(all.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& record : *all) {
      auto config = controller.Config(record.name);
      if (!config.ok()) Fail(config.status());
      auto s = controller.Status(record.name);
      if (!s.ok()) Fail(s.status());
      list.push_back(nlohmann::json::parse(experiment::RolloutStatusJson(record.name, *config, *s, record.current_version)));
    }
    auto killed = controller.KillSwitch();
    if (!killed.ok()) Fail(killed.status());
    if (f->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"experiments", list}, {"kill_switch", *killed}}));
      return;
    }
    if (*killed) std::printf("KILL SWITCH ON: every experiment serves control\n");
    for (const auto& e : list) {
      const std::string waiting =
          e["waiting_for_role"].is_string() ? " [waiting for approval by role " + e["waiting_for_role"].get<std::string>() + "]" : "";
      std::printf("%-24s %-12s step %d/%d  coverage %.2f  v%lld  %s%s\n", e["name"].get<std::string>().c_str(),
                  e["state"].get<std::string>().c_str(), e["step"].get<int>(), e["steps"].get<int>(),
                  e["coverage"].get<double>(), static_cast<long long>(e["version"].get<int64_t>()),
                  e["reason"].get<std::string>().c_str(), waiting.c_str());
    }
  });

  auto* ramp = WithTarget(exp->add_subcommand("ramp", "Start: draft -> shadow (with a shadow model) -> ramping step 1"), *f, false);
  ramp->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    Check(controller.Start(f->name, f->actor, f->reason));
    std::printf("experiment '%s': %s\n", f->name.c_str(), experiment::RolloutStateName(controller.Status(f->name)->state));
  });

  auto* approve = WithTarget(exp->add_subcommand("approve", "Approve the next ramp step for a role"), *f, false);
  approve->add_option("--role", f->role, "The approving role named by the step (e.g. rai-reviewer)")->required()->check(OneLine);
  approve->add_option("--version", f->version, "Approve this proposed version of a live experiment (instead of the next step)");
  approve->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    if (f->version > 0) {
      Check(controller.ApproveVersion(f->name, f->version, f->role, f->actor, f->reason));
      std::printf("experiment '%s': version %lld approved by %s as %s\n", f->name.c_str(), static_cast<long long>(f->version),
                  f->actor.c_str(), f->role.c_str());
      return;
    }
    Check(controller.Approve(f->name, f->role, f->actor, f->reason));
    std::printf("experiment '%s': approved by %s as %s\n", f->name.c_str(), f->actor.c_str(), f->role.c_str());
  });

  auto* promote = WithTarget(exp->add_subcommand("promote", "Advance to the next step now (approvals still required)"), *f, false);
  promote->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    Check(controller.Promote(f->name, f->actor, f->reason));
    auto s = controller.Status(f->name);
    std::printf("experiment '%s': %s, step %d\n", f->name.c_str(), experiment::RolloutStateName(s->state), s->step + 1);
  });

  auto* rollback = WithTarget(exp->add_subcommand("rollback", "Roll back now: treatment coverage to 0, durable, audited"), *f, true);
  rollback->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    auto before = controller.Status(f->name);
    const bool already = before.ok() && before->state == experiment::RolloutState::kRolledBack;
    Check(controller.Rollback(f->name, f->actor, f->reason));
    if (already) {
      std::printf("experiment '%s': already rolled back (%s); your reason is recorded in the audit log\n", f->name.c_str(),
                  before->reason.c_str());
    } else {
      std::printf("experiment '%s': rolled_back (%s)\n", f->name.c_str(), f->reason.c_str());
    }
  });

  auto* stop = WithTarget(exp->add_subcommand("stop", "Stop the experiment (everyone gets control)"), *f, true);
  stop->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    Check(controller.Stop(f->name, f->actor, f->reason));
    std::printf("experiment '%s': stopped\n", f->name.c_str());
  });

  auto* kill = exp->add_subcommand("kill-switch", "Global kill switch: --on rolls back every live experiment");
  kill->add_option("--db", f->db, "SQLite database")->required();
  kill->add_option("--actor", f->actor, "Who is acting")->required()->check(OneLine);
  kill->add_option("--reason", f->reason, "Why")->required()->check(OneLine);
  auto* on = kill->add_flag("--on", f->on, "Turn the kill switch on");
  auto* off = kill->add_flag("--off", f->off, "Turn it off");
  on->excludes(off);
  kill->callback([f] {
    if (f->on == f->off) Fail(InvalidArgument("say --on or --off"));
    auto db = OpenExistingDatabase(f->db, /*read_only=*/false);
    serving::RolloutController controller(*db, SystemClock::Default());
    Check(controller.SetKillSwitch(f->on, f->actor, f->reason));
    std::printf("kill switch %s\n", f->on ? "ON" : "off");
  });

  auto* history = exp->add_subcommand("history", "Every config version and audit row of an experiment");
  history->add_option("--db", f->db, "SQLite database")->required();
  history->add_option("--name", f->name, "Experiment name")->required();
  history->add_flag("--json", f->json, "Print {\"versions\": [...], \"audit\": [...]}");
  history->callback([f] {
    auto db = OpenExistingDatabase(f->db, /*read_only=*/true);
    auto versions = storage::ExperimentStore(*db).Versions(f->name);
    if (!versions.ok()) Fail(versions.status());
    if (versions->empty()) Fail(NotFound("no experiment named '" + f->name + "'"));
    auto audit = storage::AuditLog(*db).ForSubject(f->name);
    if (!audit.ok()) Fail(audit.status());
    if (f->json) {
      nlohmann::json v = nlohmann::json::array(), a = nlohmann::json::array();
      for (const auto& x : *versions) {
        v.push_back({{"version", x.version}, {"created_at_ms", x.created_at_ms}, {"actor", x.actor},
                     {"config", nlohmann::json::parse(x.config_json)}});
      }
      for (const auto& e : *audit) a.push_back(nlohmann::json::parse(storage::AuditEntryJson(e, storage::PayloadAs::kObject)));
      PrintJsonLine(DumpJson(nlohmann::json{{"name", f->name}, {"versions", v}, {"audit", a}}));
      return;
    }
    for (const auto& x : *versions) std::printf("version %lld saved by %s\n", static_cast<long long>(x.version), x.actor.c_str());
    for (const auto& e : *audit) {
      std::printf("%6lld %-14s %-22s %s\n", static_cast<long long>(e.seq), SanitizeLine(e.actor).c_str(),
                  SanitizeLine(e.action).c_str(), SanitizeLine(e.reason).c_str());
    }
  });

  auto* sim = exp->add_subcommand("simulate-guardrail",
                                  "Monte-Carlo false-alarm rate (effect 0) or power (effect < 0) of the guardrail monitor");
  sim->add_option("--runs", f->sim.runs, "Simulated experiments")->capture_default_str()->check(AtLeast(1));
  sim->add_option("--effect", f->sim.effect, "Relative CTR change of the treatment (-0.1 = 10% drop)")->capture_default_str();
  sim->add_option("--users", f->sim.users, "Users per run")->capture_default_str()->check(AtLeast(1));
  sim->add_option("--requests", f->sim.requests, "Requests per run")->capture_default_str()->check(AtLeast(1));
  sim->add_option("--interval", f->sim.interval, "Requests between analyses")->capture_default_str()->check(AtLeast(1));
  sim->add_option("--base-ctr", f->sim.base_ctr, "Click probability per item shown")->capture_default_str();
  sim->add_option("--test", f->sim_test, "sequential (mSPRT) or fixed (z-test at every look)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sequential", "fixed"}));
  sim->add_option("--seed", f->sim.seed, "Seed")->capture_default_str();
  sim->add_flag("--json", f->json, "Print one JSON object");
  sim->callback([f] {
    f->sim.test = experiment::ParseGuardrailTest(f->sim_test).value();  // CLI11 checked the name
    auto r = experiment::SimulateGuardrail(f->sim);
    if (!r.ok()) Fail(r.status());
    nlohmann::json j = {{"runs", r->runs}, {"alarms", r->alarms}, {"alarm_rate", r->alarm_rate},
                        {"median_exposures_to_detection", r->median_exposures_to_detection}, {"effect", f->sim.effect},
                        {"test", f->sim_test}, {"requests_per_run", f->sim.requests}, {"interval", f->sim.interval}};
    if (f->json) {
      PrintJsonLine(DumpJson(j));
    } else {
      std::printf("%d of %d runs raised the guardrail (%.1f%%); median exposures to detection %lld\n", r->alarms, r->runs,
                  100 * r->alarm_rate, static_cast<long long>(r->median_exposures_to_detection));
    }
  });
}

}  // namespace steward::app
