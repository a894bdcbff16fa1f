#include "experiment/rollout.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace steward::experiment {
namespace {
std::string Fmt(double v);  // below
}  // namespace

const char* RolloutStateName(RolloutState s) {
  switch (s) {
    case RolloutState::kDraft: return "draft";
    case RolloutState::kShadow: return "shadow";
    case RolloutState::kRamping: return "ramping";
    case RolloutState::kHolding: return "holding";
    case RolloutState::kCompleted: return "completed";
    case RolloutState::kRolledBack: return "rolled_back";
    case RolloutState::kStopped: return "stopped";
  }
  return "?";
}

StatusOr<RolloutState> ParseRolloutState(const std::string& name) {
  for (RolloutState s : {RolloutState::kDraft, RolloutState::kShadow, RolloutState::kRamping, RolloutState::kHolding,
                         RolloutState::kCompleted, RolloutState::kRolledBack, RolloutState::kStopped}) {
    if (name == RolloutStateName(s)) return s;
  }
  return InvalidArgument("unknown rollout state '" + name + "'");
}

bool IsLive(RolloutState s) { return s == RolloutState::kRamping || s == RolloutState::kHolding; }

const char* ActionName(Action a) {
  switch (a) {
    case Action::kNone: return "none";
    case Action::kAdvance: return "advance";
    case Action::kHold: return "hold";
    case Action::kRollback: return "rollback";
    case Action::kComplete: return "complete";
  }
  return "?";
}

std::string RolloutStatus::ToJson() const {
  nlohmann::json g = nlohmann::json::array();
  for (const GuardrailState& s : guardrails) {
    g.push_back({{"p_value", s.p_value}, {"breached", s.breached}, {"control", s.control}, {"treatment", s.treatment},
                 {"diff", s.diff}, {"ci_low", s.ci_low}, {"ci_high", s.ci_high}});
  }
  return DumpJson(nlohmann::json{{"state", RolloutStateName(state)}, {"step", step}, {"coverage", coverage},
                        {"step_started_ms", step_started_ms}, {"failures", failures}, {"approvals", approvals},
                        {"guardrails", g}, {"last_eval_ms", last_eval_ms}, {"last_exposures", last_exposures},
                        {"analyses", analyses}, {"rolled_back_at_ms", rolled_back_at_ms}, {"reason", reason},
                        {"quiet_analyses", quiet_analyses},
                        {"pending_version", pending_version}, {"pending_roles", pending_roles},
                        {"pending_approvals", pending_approvals},
                        {"blocked", blocked},
                        {"waiting_for_role", waiting_for_role.empty() ? nlohmann::json(nullptr) : nlohmann::json(waiting_for_role)}});
}

StatusOr<RolloutStatus> RolloutStatus::FromJson(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    RolloutStatus s;
    ASSIGN_OR_RETURN(s.state, ParseRolloutState(j.at("state").get<std::string>()));
    s.step = j.at("step").get<int>();
    s.coverage = j.at("coverage").get<double>();
    s.step_started_ms = j.at("step_started_ms").get<int64_t>();
    s.failures = j.at("failures").get<int>();
    s.approvals = j.at("approvals").get<std::vector<std::string>>();
    for (const auto& g : j.at("guardrails")) {
      s.guardrails.push_back({g.at("p_value"), g.at("breached"), g.at("control"), g.at("treatment"), g.at("diff"),
                              g.at("ci_low"), g.at("ci_high")});
    }
    s.last_eval_ms = j.at("last_eval_ms").get<int64_t>();
    s.last_exposures = j.at("last_exposures").get<int64_t>();
    s.analyses = j.at("analyses").get<int64_t>();
    s.rolled_back_at_ms = j.at("rolled_back_at_ms").get<int64_t>();
    s.reason = j.at("reason").get<std::string>();
    if (auto w = j.find("waiting_for_role"); w != j.end() && w->is_string()) s.waiting_for_role = w->get<std::string>();
    if (auto q = j.find("quiet_analyses"); q != j.end() && q->is_number_integer()) s.quiet_analyses = q->get<int>();
    if (auto p = j.find("pending_version"); p != j.end() && p->is_number_integer()) {
      s.pending_version = p->get<int64_t>();
      s.pending_roles = j.value("pending_roles", std::vector<std::string>());
      s.pending_approvals = j.value("pending_approvals", std::vector<std::string>());
    }
    if (auto b = j.find("blocked"); b != j.end() && b->is_string()) s.blocked = b->get<std::string>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("stored rollout status is not valid: ") + e.what());
  }
}

std::string RolloutStatusJson(const std::string& name, const ExperimentConfig& config, const RolloutStatus& s,
                              int64_t version) {
  nlohmann::json guardrails = nlohmann::json::array();
  for (size_t g = 0; g < s.guardrails.size() && g < config.guardrails.size(); ++g) {
    const auto& gs = s.guardrails[g];
    guardrails.push_back({{"metric", MetricName(config.guardrails[g].metric)}, {"p_value", gs.p_value},
                          {"breached", gs.breached}, {"control", gs.control}, {"treatment", gs.treatment},
                          {"diff", gs.diff}, {"ci_low", gs.ci_low}, {"ci_high", gs.ci_high}});
  }
  return DumpJson(nlohmann::json{{"name", name},
                        {"state", RolloutStateName(s.state)},
                        {"step", s.step + 1},
                        {"steps", config.ramp.size()},
                        {"coverage", ServingCoverage(config, s)},
                        {"version", version},
                        {"failures", s.failures},
                        {"analyses", s.analyses},
                        {"approvals", s.approvals},
                        {"waiting_for_role", s.waiting_for_role.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.waiting_for_role)},
                        {"pending_version", s.pending_version ? nlohmann::json(s.pending_version) : nlohmann::json(nullptr)},
                        {"pending_roles", s.pending_roles},
                        {"pending_approvals", s.pending_approvals},
                        {"rolled_back_at_ms", s.rolled_back_at_ms},
                        {"reason", s.reason},
                        {"guardrails", guardrails}});
}

std::vector<std::string> ApprovalRoles(const ExperimentConfig& config) {
  std::vector<std::string> roles;
  for (const RampStep& step : config.ramp) {
    if (!step.approval.empty() && std::find(roles.begin(), roles.end(), step.approval) == roles.end()) roles.push_back(step.approval);
  }
  return roles;
}

std::vector<std::string> SafetyRemovals(const ExperimentConfig& current, const ExperimentConfig& next) {
  std::vector<std::string> out;
  for (const GuardrailConfig& g : current.guardrails) {
    const std::string what = std::string("guardrail ") + MetricName(g.metric) +
                             (g.harm == HarmDirection::kDecrease ? " (decrease)" : " (increase)");
    const GuardrailConfig* match = nullptr;
    for (const GuardrailConfig& n : next.guardrails) {
      if (n.metric == g.metric && n.harm == g.harm) match = &n;
    }
    if (!match) {
      out.push_back(what + " removed");
      continue;
    }
    if (match->relative != g.relative) out.push_back(what + " changes between relative and absolute thresholds");
    else if (match->threshold > g.threshold) out.push_back(what + " loosened: threshold " + Fmt(g.threshold) + " -> " + Fmt(match->threshold));
    if (match->alpha > g.alpha) out.push_back(what + " alpha raised " + Fmt(g.alpha) + " -> " + Fmt(match->alpha));
    if (g.test == GuardrailTest::kSequential && match->test != GuardrailTest::kSequential) out.push_back(what + " test made fixed");
  }
  // Governance audits: a threshold dropped or loosened, or a failing check no longer holding the ramp.
  for (const AuditThreshold& t : current.audits.thresholds) {
    const AuditThreshold* match = nullptr;
    for (const AuditThreshold& n : next.audits.thresholds) {
      if (n.metric == t.metric && n.bound == t.bound) match = &n;
    }
    if (!match) out.push_back("audit threshold " + t.key + " removed");
    else if (t.bound == AuditBound::kMax ? match->value > t.value : match->value < t.value) {
      out.push_back("audit threshold " + t.key + " loosened: " + Fmt(t.value) + " -> " + Fmt(match->value));
    }
  }
  if (current.audits.on_fail == AuditOnFail::kHold && next.audits.on_fail != AuditOnFail::kHold) {
    out.push_back("audits on_fail changed from hold to report");
  }
  const std::vector<std::string> before = ApprovalRoles(current), after = ApprovalRoles(next);
  for (const std::string& role : before) {
    if (std::find(after.begin(), after.end(), role) == after.end()) out.push_back("approval by role '" + role + "' removed");
  }
  return out;
}

bool ShadowPhaseDone(const ExperimentConfig& config, const RolloutStatus& status, int64_t now_ms, int64_t shadow_requests) {
  return status.state == RolloutState::kShadow && now_ms - status.step_started_ms >= config.shadow.min_duration_ms &&
         shadow_requests >= config.shadow.min_requests;
}

double ServingCoverage(const ExperimentConfig& config, const RolloutStatus& status) {
  if (status.state == RolloutState::kCompleted) return config.ramp.empty() ? config.coverage : config.ramp.back().coverage;
  if (!IsLive(status.state)) return 0.0;
  if (config.ramp.empty()) return config.coverage;
  return config.ramp[static_cast<size_t>(std::clamp(status.step, 0, static_cast<int>(config.ramp.size()) - 1))].coverage;
}

Status AdvanceStep(const ExperimentConfig& config, RolloutStatus& status, int64_t now_ms, const std::string& why) {
  const int next = status.step + 1;
  if (next >= static_cast<int>(config.ramp.size())) {
    status.state = RolloutState::kCompleted;
    status.reason = why;
    status.approvals.clear();
    status.coverage = ServingCoverage(config, status);
    return Status::Ok();
  }
  const std::string& role = config.ramp[static_cast<size_t>(next)].approval;
  if (!role.empty() && std::find(status.approvals.begin(), status.approvals.end(), role) == status.approvals.end()) {
    return FailedPrecondition("step " + std::to_string(next + 1) + " (coverage " +
                              std::to_string(config.ramp[static_cast<size_t>(next)].coverage) +
                              ") needs approval from role '" + role + "'");
  }
  status.step = next;
  status.state = RolloutState::kRamping;
  status.step_started_ms = now_ms;
  status.approvals.clear();
  status.waiting_for_role.clear();
  status.reason = why;
  status.coverage = ServingCoverage(config, status);
  return Status::Ok();
}

namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

Analysis Analyze(const ExperimentConfig& config, RolloutStatus& status, const ExperimentMetrics& metrics, int64_t now_ms,
                 const AuditGate* gate) {
  Analysis out;
  if (!IsLive(status.state)) return out;
  ++status.analyses;
  status.waiting_for_role.clear();
  status.last_eval_ms = now_ms;
  const int arms = metrics.num_arms();
  nlohmann::json evidence = {{"at_ms", now_ms}, {"step", status.step}, {"coverage", status.coverage}};
  nlohmann::json arm_json = nlohmann::json::array();
  int64_t total_exposures = 0;
  int64_t min_users = INT64_MAX;
  std::vector<double> users, weights;
  for (int a = 0; a < arms; ++a) {
    arm_json.push_back({{"arm", config.arms[static_cast<size_t>(a)].name}, {"users", metrics.Users(a)}, {"exposures", metrics.Exposures(a)}});
    total_exposures += metrics.Exposures(a);
    min_users = std::min(min_users, metrics.Users(a));
    users.push_back(static_cast<double>(metrics.Users(a)));
    weights.push_back(config.arms[static_cast<size_t>(a)].weight);
  }
  evidence["arms"] = arm_json;

  // Guardrails first: a confirmed breach rolls back regardless of anything else.
  if (status.guardrails.size() != config.guardrails.size()) status.guardrails.assign(config.guardrails.size(), GuardrailState());
  if (min_users >= config.evaluation.min_users_per_arm) {
    for (size_t g = 0; g < config.guardrails.size(); ++g) {
      const GuardrailConfig& gc = config.guardrails[g];
      GuardrailState& gs = status.guardrails[g];
      for (int a = 1; a < arms && !gs.breached; ++a) {
        const RatioSums& control = metrics.Sums(0, gc.metric);
        const RatioSums& treatment = metrics.Sums(a, gc.metric);
        if (control.sy <= 0 || treatment.sy <= 0) continue;
        const double rc = control.ratio(), rt = treatment.ratio();
        const double variance = DeltaMethodVariance(control) + DeltaMethodVariance(treatment);
        if (variance <= 0) continue;
        const double margin = gc.relative ? gc.threshold * std::fabs(rc) : gc.threshold;
        // Oriented so that harm is negative: harm_diff < 0 means worse than the tolerated margin.
        const double harm_diff = (gc.harm == HarmDirection::kDecrease ? (rt - rc) : (rc - rt)) + margin;
        const double zq = TwoSidedCriticalValue(gc.alpha);
        gs.control = rc;
        gs.treatment = rt;
        gs.diff = rt - rc;
        gs.ci_low = gs.diff - zq * std::sqrt(variance);
        gs.ci_high = gs.diff + zq * std::sqrt(variance);
        if (gc.test == GuardrailTest::kSequential) {
          // Mixing variance: the square of a 10% change of the control's value (documented default).
          const double tau2 = std::max(1e-12, 0.01 * rc * rc);
          const double l = MsprtOneSidedHarmRatio(harm_diff, variance, tau2);
          if (l > 0) gs.p_value = std::min(gs.p_value, 1.0 / l);
        } else {
          gs.p_value = NormalCdf(harm_diff / std::sqrt(variance));  // one-sided z-test at this look
        }
        if (gs.p_value <= gc.alpha) {
          gs.breached = true;
          out.action = Action::kRollback;
          out.reason = std::string("guardrail ") + MetricName(gc.metric) + " breached: " + config.arms[static_cast<size_t>(a)].name +
                       " " + Fmt(rt) + " vs control " + Fmt(rc) + " (diff " + Fmt(gs.diff) + ", " +
                       Fmt(100 * (1 - gc.alpha)) + "% CI [" + Fmt(gs.ci_low) + ", " + Fmt(gs.ci_high) + "], " +
                       (gc.test == GuardrailTest::kSequential ? "always-valid p " : "p ") + Fmt(gs.p_value) + ")";
          evidence["guardrail"] = {{"metric", MetricName(gc.metric)}, {"arm", config.arms[static_cast<size_t>(a)].name},
                                   {"control", rc}, {"treatment", rt}, {"diff", gs.diff}, {"ci_low", gs.ci_low},
                                   {"ci_high", gs.ci_high}, {"p_value", gs.p_value}, {"alpha", gc.alpha},
                                   {"test", GuardrailTestName(gc.test)}, {"threshold", gc.threshold}, {"relative", gc.relative},
                                   {"exposures", total_exposures}};
        }
      }
    }
  }
  if (out.action == Action::kRollback) {
    status.state = RolloutState::kRolledBack;
    status.rolled_back_at_ms = now_ms;
    status.coverage = 0.0;
    status.reason = out.reason;
    out.evidence_json = DumpJson(evidence);
    return out;
  }

  // Health: sample-ratio mismatch is a failed check (it spends the failure budget).
  std::string health;
  auto srm = SampleRatioMismatch(users, weights);
  if (srm.ok()) evidence["srm"] = {{"chi2", srm->chi2}, {"p_value", srm->p_value}, {"mismatch", srm->mismatch}};
  if (srm.ok() && srm->mismatch) health = "sample-ratio mismatch (chi2 " + Fmt(srm->chi2) + ", p " + Fmt(srm->p_value) + ")";
  // No traffic is inconclusive, not a failure (Argo Rollouts' Inconclusive): the step holds and
  // the failure budget is never spent on it, so a quiet period cannot roll a healthy experiment
  // back. A quiet analysis is noted in the status; a quiet spell longer than the failure budget
  // is a hold decision (audited once, an alert for on-call).
  const bool no_traffic = health.empty() && total_exposures <= status.last_exposures;
  status.last_exposures = total_exposures;
  if (no_traffic) {
    ++status.quiet_analyses;
    evidence["quiet_analyses"] = status.quiet_analyses;
    if (status.quiet_analyses > config.evaluation.failure_limit) {
      evidence["alert"] = "no traffic";
      out.action = Action::kHold;
      out.reason = "inconclusive: no traffic for more than " + std::to_string(config.evaluation.failure_limit) +
                   " analyses; holding until traffic returns (the failure budget is not spent)";
      status.state = RolloutState::kHolding;
    } else {
      out.reason = "inconclusive: no traffic since the last analysis; holding the step";
    }
    status.reason = out.reason;
    out.evidence_json = DumpJson(evidence);
    return out;
  }
  status.quiet_analyses = 0;
  if (health.empty()) status.failures = 0;  // the budget counts consecutive failed checks
  if (!health.empty()) {
    ++status.failures;
    if (status.failures > config.evaluation.failure_limit) {
      out.action = Action::kRollback;
      out.reason = "failure budget exhausted (" + std::to_string(status.failures) + " consecutive failed checks, limit " +
                   std::to_string(config.evaluation.failure_limit) + "): " + health;
      status.state = RolloutState::kRolledBack;
      status.rolled_back_at_ms = now_ms;
      status.coverage = 0.0;
    } else {
      out.action = Action::kHold;
      out.reason = "inconclusive: " + health + " (failure " + std::to_string(status.failures) + " of " +
                   std::to_string(config.evaluation.failure_limit) + " allowed)";
      status.state = RolloutState::kHolding;
    }
    status.reason = out.reason;
    out.evidence_json = DumpJson(evidence);
    return out;
  }

  // A reviewer's block holds the ramp until an approving sign-off clears it.
  if (!status.blocked.empty()) {
    out.action = Action::kHold;
    out.reason = "blocked by the reviewer: " + status.blocked;
    status.state = RolloutState::kHolding;
    status.reason = out.reason;
    out.evidence_json = DumpJson(evidence);
    return out;
  }

  // Advancement: duration, sample and approval of the next step.
  if (config.ramp.empty()) {
    out.evidence_json = DumpJson(evidence);
    return out;
  }
  const RampStep& step = config.ramp[static_cast<size_t>(std::max(status.step, 0))];
  std::string waiting;
  if (now_ms - status.step_started_ms < step.min_duration_ms) {
    waiting = "step " + std::to_string(status.step + 1) + " has run " + Fmt((now_ms - status.step_started_ms) / 60000.0) +
              " of " + Fmt(step.min_duration_ms / 60000.0) + " minutes";
  } else if (min_users < step.min_users_per_arm) {
    waiting = "step " + std::to_string(status.step + 1) + " has " + std::to_string(min_users) + " of " +
              std::to_string(step.min_users_per_arm) + " users per arm";
  }
  if (!waiting.empty()) {
    status.state = RolloutState::kRamping;
    status.reason = "waiting: " + waiting;
    out.evidence_json = DumpJson(evidence);
    return out;
  }
  if (gate && gate->failed) {
    // `audits: {on_fail: hold}`: a failing treatment check holds the step that could advance.
    out.action = Action::kHold;
    out.reason = "held by the governance audit: " + gate->reason;
    auto audit = nlohmann::json::parse(gate->evidence_json, nullptr, /*allow_exceptions=*/false);
    evidence["audit"] = audit.is_discarded() ? nlohmann::json(gate->evidence_json) : audit;
    status.state = RolloutState::kHolding;
    status.reason = out.reason;
    out.evidence_json = DumpJson(evidence);
    return out;
  }
  const bool last = status.step + 1 >= static_cast<int>(config.ramp.size());
  Status advanced = AdvanceStep(config, status, now_ms, last ? "all steps passed" : "step conditions met");
  if (!advanced.ok()) {
    out.action = Action::kHold;
    out.reason = "waiting for approval: " + advanced.message();
    status.waiting_for_role = config.ramp[static_cast<size_t>(status.step + 1)].approval;
    status.state = RolloutState::kHolding;
    status.reason = out.reason;
  } else {
    out.action = last ? Action::kComplete : Action::kAdvance;
    out.reason = last ? "completed: every ramp step passed its checks"
                      : "advanced to step " + std::to_string(status.step + 1) + " (coverage " + Fmt(status.coverage) + ")";
  }
  out.evidence_json = DumpJson(evidence);
  return out;
}

}  // namespace steward::experiment
