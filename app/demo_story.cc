#include "app/demo_story.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "fairness/metrics.h"
#include "serving/pipeline.h"
#include "shadow/compare.h"
#include "shadow/report.h"
#include "storage/audit_log.h"
#include "storage/queries.h"

namespace steward::app {
namespace {

std::string Format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

double Day(int64_t ts_ms, int64_t start_ms) { return static_cast<double>(ts_ms - start_ms) / 86'400'000.0; }

// What the stored lists of one event-time span say, per arm.
struct SpanTotals {
  struct Arm {
    int64_t lists = 0, clicks = 0;
    std::vector<double> group_weight;  // position-weighted exposure per provider group
  };
  std::map<std::string, Arm, std::less<>> arms;
  int64_t lists = 0, clicks = 0, shadowed = 0;
  double overlap_sum = 0;
  std::vector<double> served_categories, shadow_categories;
};

StatusOr<SpanTotals> ReadSpan(storage::Database& db, const std::string& experiment, const models::Catalog& catalog,
                              const std::unordered_map<int64_t, size_t>& index_of, int64_t from_ms, int64_t until_ms) {
  SpanTotals t;
  t.served_categories.assign(static_cast<size_t>(std::max(1, catalog.num_categories)), 0.0);
  t.shadow_categories = t.served_categories;
  std::vector<int64_t> served_ids;
  RETURN_IF_ERROR(storage::ForEachAuditedExposure(db, experiment, from_ms, until_ms, [&](const storage::AuditedExposure& e) {
    SpanTotals::Arm& arm = t.arms[std::string(e.arm)];
    if (arm.group_weight.empty()) arm.group_weight.assign(3, 0.0);
    ++arm.lists;
    ++t.lists;
    arm.clicks += static_cast<int64_t>(e.clicked_positions.size());
    t.clicks += static_cast<int64_t>(e.clicked_positions.size());
    served_ids.clear();
    for (size_t p = 0; p < e.served.size(); ++p) {
      served_ids.push_back(e.served[p].item_id);
      const auto it = index_of.find(e.served[p].item_id);
      if (it == index_of.end()) continue;
      const models::CatalogItem& item = catalog.items[it->second];
      t.served_categories[static_cast<size_t>(item.category) % t.served_categories.size()] += 1.0;
      if (item.provider_group >= 0 && item.provider_group < 3) {
        arm.group_weight[static_cast<size_t>(item.provider_group)] += fairness::PositionWeight(static_cast<int>(p) + 1);
      }
    }
    if (!e.shadow.empty()) {
      ++t.shadowed;
      t.overlap_sum += shadow::JaccardAtK(served_ids, e.shadow, 10);
      for (int64_t id : e.shadow) {
        const auto it = index_of.find(id);
        if (it != index_of.end()) {
          t.shadow_categories[static_cast<size_t>(catalog.items[it->second].category) % t.shadow_categories.size()] += 1.0;
        }
      }
    }
    return Status::Ok();
  }));
  return t;
}

double Ctr(int64_t clicks, int64_t lists) { return lists > 0 ? static_cast<double>(clicks) / static_cast<double>(lists) : 0.0; }

std::string Command(const std::string& what, const std::string& db) { return what + " --db " + db; }

}  // namespace

StatusOr<std::vector<DemoStage>> ReadDemoStory(storage::Database& db, const experiment::ExperimentConfig& config,
                                               const models::Catalog& catalog, const DemoStoryInputs& in) {
  std::unordered_map<int64_t, size_t> index_of;
  for (size_t i = 0; i < catalog.items.size(); ++i) index_of.emplace(catalog.items[i].id, i);
  storage::AuditLog log(db);
  ASSIGN_OR_RETURN(std::vector<storage::AuditEntry> entries, log.ForSubject(config.name));
  auto action = [](storage::AuditAction a) { return std::string(storage::AuditActionName(a)); };

  // The run's milestones: the last shadow phase, and what followed it.
  std::optional<storage::AuditEntry> shadow_start, ramp_start, signoff, hold_for_review, end;
  std::vector<storage::AuditEntry> steps;  // experiment.ramp / advance / promote after the shadow phase
  for (const storage::AuditEntry& e : entries) {
    if (e.action == action(storage::AuditAction::kExperimentShadow)) {
      shadow_start = e;
      ramp_start.reset(), signoff.reset(), hold_for_review.reset(), end.reset();
      steps.clear();
    } else if (e.action == action(storage::AuditAction::kExperimentRamp)) {
      if (!ramp_start) ramp_start = e;
      steps.push_back(e);
    } else if (e.action == action(storage::AuditAction::kExperimentAdvance) ||
               e.action == action(storage::AuditAction::kExperimentPromote)) {
      steps.push_back(e);
    } else if (e.action == action(storage::AuditAction::kExperimentHold) && !hold_for_review &&
               e.reason.find("'" + config.audits.reviewer_role + "'") != std::string::npos) {
      hold_for_review = e;
    } else if (e.action == action(storage::AuditAction::kAuditSignOff)) {
      signoff = e;
    } else if (e.action == action(storage::AuditAction::kExperimentComplete) ||
               e.action == action(storage::AuditAction::kExperimentRollback) ||
               e.action == action(storage::AuditAction::kExperimentStop)) {
      if (!end) end = e;
    }
  }
  const int64_t t0 = in.start_ms;
  const int64_t t_end = std::max(in.end_ms, t0) + 1;
  const std::string& db_path = in.db;
  std::vector<DemoStage> stages;
  const std::string control_model = config.arms.empty() ? "" : config.arms[0].model;
  const std::string treatment_model = config.arms.size() > 1 ? config.arms[1].model : "";

  // 1. Shadow: the production baseline serves; the candidate runs beside it.
  std::optional<double> offline_lift;  // the shadow phase's off-policy estimate of the lift
  DemoStage shadow;
  shadow.name = "shadow";
  if (!shadow_start) {
    shadow.status = "skipped";
    shadow.lines.push_back("No shadow phase: the experiment was not put in shadow.");
  } else {
    shadow.from_ms = shadow_start->ts_ms;
    shadow.until_ms = ramp_start ? ramp_start->ts_ms : t_end;
    shadow.status = ramp_start ? "done" : "waiting";
    ASSIGN_OR_RETURN(SpanTotals s, ReadSpan(db, config.name, catalog, index_of, shadow.from_ms, shadow.until_ms));
    const int k = std::max(1, catalog.num_categories);
    shadow.lines.push_back(Format("Days %.1f-%.1f: the production model (%s) served all %lld requests, %.4f clicks per list.",
                                  Day(shadow.from_ms, t0), Day(shadow.until_ms, t0), control_model.c_str(),
                                  static_cast<long long>(s.lists), Ctr(s.clicks, s.lists)));
    if (!config.shadow_model.empty()) {
      const double div_served = fairness::CategoricalDiversityIndex(s.served_categories, k);
      const double div_shadow = fairness::CategoricalDiversityIndex(s.shadow_categories, k);
      shadow.lines.push_back(Format(
          "The %s model computed a list for %lld of them in shadow, never shown: overlap@10 with the served list %.3f; "
          "category diversity index %.3f served vs %.3f shadow (%+.1f%%).",
          config.shadow_model.c_str(), static_cast<long long>(s.shadowed), s.shadowed ? s.overlap_sum / static_cast<double>(s.shadowed) : 0.0,
          div_served, div_shadow, div_served > 0 ? 100.0 * (div_shadow / div_served - 1.0) : 0.0));
    }
    // What the shadow model would have earned, estimated off-policy from the production model's
    // logs over the phase (the shadow report's position-based doubly robust estimate).
    shadow::ShadowReportOptions cf_options;
    cf_options.experiment = config.name;
    cf_options.from_ms = shadow.from_ms;
    cf_options.to_ms = shadow.until_ms;
    auto cf_report = shadow::BuildShadowReport(db, cf_options);
    if (!config.shadow_model.empty() && cf_report.ok() && !cf_report->experiments.empty()) {
      const shadow::ShadowSlateCounterfactual& cf = cf_report->experiments[0].slate;
      if (cf.estimated) {
        const shadow::SlateEstimate& est = cf.estimate;
        offline_lift = est.lift.value;
        shadow.lines.push_back(Format(
            "Off-policy estimate from the production logs (position-based doubly robust, shadow/slate_ope.h): the %s model "
            "would earn %.4f [%.4f, %.4f] clicks per list against %.4f logged, a lift of %+.1f%% [%+.1f%%, %+.1f%%].",
            config.shadow_model.c_str(), est.dr.value, est.dr.ci_low, est.dr.ci_high, est.logged.value, 100.0 * est.lift.value,
            100.0 * est.lift.ci_low, 100.0 * est.lift.ci_high));
      } else {
        shadow.lines.push_back("Off-policy estimate: not estimable (" + cf.note + ").");
      }
    }
    if (ramp_start) shadow.lines.push_back("The controller ended the phase: " + ramp_start->reason + ".");
    shadow.look.push_back(in.report_dir.empty() ? Command("steward shadow report", db_path) + " --experiment " + config.name + " --out DIR"
                                                : in.report_dir + "/shadow/report.html (and report.md, report.json, charts)");
  }
  stages.push_back(shadow);

  // 2. Ramp under guardrails (and the treatment's exposure constraint).
  DemoStage ramp;
  ramp.name = "ramp";
  if (!ramp_start) {
    ramp.status = "not_reached";
    ramp.lines.push_back("The ramp did not start.");
  } else {
    ramp.from_ms = ramp_start->ts_ms;
    ramp.until_ms = end ? end->ts_ms : t_end;
    ramp.status = !end ? "waiting" : end->action == action(storage::AuditAction::kExperimentComplete) ? "done" : "rolled_back";
    std::string line = "Steps:";
    for (const storage::AuditEntry& e : steps) {
      double coverage = 0;
      try {
        coverage = nlohmann::json::parse(e.payload).value("coverage", 0.0);
      } catch (const nlohmann::json::exception&) {
      }
      // experiment.ramp records the first step's coverage; an advance records the coverage it left.
      if (e.action != action(storage::AuditAction::kExperimentRamp)) {
        const size_t at = e.reason.rfind("coverage ");
        coverage = at == std::string::npos ? coverage : std::atof(e.reason.c_str() + at + 9);
      }
      line += Format(" %.0f%% on day %.1f;", 100.0 * coverage, Day(e.ts_ms, t0));
    }
    line.back() = '.';
    ramp.lines.push_back(line);
    ASSIGN_OR_RETURN(SpanTotals s, ReadSpan(db, config.name, catalog, index_of, ramp.from_ms, ramp.until_ms));
    std::string arms_line = "In the ramp:";
    for (const auto& arm : config.arms) {
      const auto it = s.arms.find(arm.name);
      const SpanTotals::Arm a = it == s.arms.end() ? SpanTotals::Arm{} : it->second;
      arms_line += Format(" %s (%s) %lld lists, CTR %.4f;", arm.name.c_str(), arm.model.c_str(), static_cast<long long>(a.lists),
                          Ctr(a.clicks, a.lists));
    }
    if (config.arms.size() > 1) {
      const auto c = s.arms.find(config.arms[0].name);
      const auto t = s.arms.find(config.arms[1].name);
      if (c != s.arms.end() && t != s.arms.end() && Ctr(c->second.clicks, c->second.lists) > 0) {
        arms_line += Format(" lift %+.1f%%", 100.0 * (Ctr(t->second.clicks, t->second.lists) / Ctr(c->second.clicks, c->second.lists) - 1.0));
        arms_line += offline_lift ? Format(" (the shadow phase's off-policy estimate: %+.1f%%; docs/paper.md compares the two).", 100.0 * *offline_lift)
                                  : std::string(".");
      }
    }
    if (arms_line.back() == ';') arms_line.back() = '.';
    ramp.lines.push_back(arms_line);
    std::string guard = "Guardrails (" + std::to_string(config.guardrails.size()) + ": ";
    for (size_t g = 0; g < config.guardrails.size(); ++g) {
      guard += (g ? ", " : "") + std::string(experiment::MetricName(config.guardrails[g].metric));
    }
    guard += ") were tested at every analysis; ";
    guard += !end ? "no decision yet." : end->reason + ".";
    ramp.lines.push_back(guard);
    for (size_t i = 0; i < config.arms.size(); ++i) {
      const auto& fc = config.arms[i].fairness_constraint;
      const auto it = s.arms.find(config.arms[i].name);
      if (!fc || it == s.arms.end()) continue;
      const std::vector<double> shares = fairness::ExposureShares(it->second.group_weight);
      std::string l = Format("Exposure constraint on %s (tolerance %.2f): provider exposure head/mid/tail %.3f/%.3f/%.3f", config.arms[i].name.c_str(),
                             fc->tolerance, shares[0], shares[1], shares[2]);
      if (fc->targets.size() == 3) {
        l += Format(" against targets %.2f/%.2f/%.2f, disparity %.3f.", fc->targets[0], fc->targets[1], fc->targets[2],
                    fairness::ExposureDisparity(shares, fc->targets));
      } else {
        l += " (targets: catalog shares).";
      }
      ramp.lines.push_back(l);
    }
    ramp.look.push_back(Command("steward experiment status", db_path));
    ramp.look.push_back(Command("steward dashboard", db_path) + " --role owner");
  }
  stages.push_back(ramp);

  // 3. The responsible-AI reviewer's sign-off.
  DemoStage review;
  review.name = "review";
  bool needs_review = false;
  for (const auto& step : config.ramp) needs_review = needs_review || step.approval == config.audits.reviewer_role;
  if (!needs_review) {
    review.status = "skipped";
    review.lines.push_back("No ramp step needs the reviewer's sign-off.");
  } else if (!hold_for_review && !signoff) {
    review.status = "not_reached";
    review.lines.push_back("The ramp never reached the step that waits for the " + config.audits.reviewer_role + " sign-off.");
  } else {
    review.from_ms = hold_for_review ? hold_for_review->ts_ms : signoff->ts_ms;
    review.until_ms = signoff ? signoff->ts_ms : t_end;
    review.status = signoff ? "done" : "waiting";
    if (hold_for_review) review.lines.push_back(Format("Day %.1f: %s.", Day(hold_for_review->ts_ms, t0), hold_for_review->reason.c_str()));
    if (signoff) {
      std::string hash, decision;
      size_t thresholds = 0;
      bool passed = false;
      try {
        const nlohmann::json p = nlohmann::json::parse(signoff->payload);
        hash = p.value("report_hash", "");
        decision = p.value("decision", "");
        passed = p.value("audit_passed", false);
        if (p.contains("thresholds") && p["thresholds"].contains("thresholds")) thresholds = p["thresholds"]["thresholds"].size();
      } catch (const nlohmann::json::exception&) {
      }
      review.lines.push_back(Format("Day %.1f: %s signed off (%s) with a %s governance audit against %zu thresholds, after %.1f hours "
                                    "of waiting: \"%s\". Report hash %s.",
                                    Day(signoff->ts_ms, t0), signoff->actor.c_str(), decision.c_str(), passed ? "passing" : "failing",
                                    thresholds, static_cast<double>(review.until_ms - review.from_ms) / 3'600'000.0,
                                    signoff->reason.c_str(), hash.substr(0, 16).c_str()));
    }
    review.look.push_back(in.report_dir.empty() ? Command("steward audit", db_path) + " --experiment " + config.name
                                                : in.report_dir + "/audit/report.html (and report.md, report.json, charts)");
    review.look.push_back(Command("steward dashboard", db_path) + " --role reviewer");
    review.look.push_back(Command("steward audit-log verify", db_path));
  }
  stages.push_back(review);

  // 4. Outcome.
  DemoStage outcome;
  outcome.name = "outcome";
  if (!end) {
    outcome.status = ramp_start ? "waiting" : "not_reached";
    outcome.lines.push_back("No final decision within the run.");
  } else {
    outcome.from_ms = outcome.until_ms = end->ts_ms;
    const bool completed = end->action == action(storage::AuditAction::kExperimentComplete);
    outcome.status = completed ? "done" : "rolled_back";
    outcome.lines.push_back(Format("Day %.1f, %s: %s.", Day(end->ts_ms, t0), end->actor.c_str(), end->reason.c_str()));
    if (completed && !treatment_model.empty()) {
      outcome.lines.push_back("The " + treatment_model + " model now serves every user in the experiment.");
    } else if (!completed) {
      outcome.lines.push_back("Every user is served " + control_model + " again; the evidence is in the audit log.");
    }
    outcome.look.push_back(Command("steward dashboard", db_path) + " --role oncall");
    outcome.look.push_back(Command("steward audit-log list", db_path));
  }
  stages.push_back(outcome);
  return stages;
}

std::string DemoStoryText(const std::vector<DemoStage>& stages) {
  std::ostringstream out;
  int n = 0;
  for (const DemoStage& s : stages) {
    out << "  " << ++n << ". " << s.name << " [" << s.status << "]\n";
    for (const std::string& l : s.lines) out << "     " << l << "\n";
    for (const std::string& l : s.look) out << "     look: " << l << "\n";
  }
  return out.str();
}

}  // namespace steward::app
