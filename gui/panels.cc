#include "gui/panels.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "gui/plot.h"

namespace steward::gui {
namespace {

std::string FormatTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

double Ctr(const storage::ArmCounts& a) {
  return a.exposures > 0 ? static_cast<double>(a.clicks) / static_cast<double>(a.exposures) : 0.0;
}

ImVec4 StateColor(experiment::RolloutState s) {
  switch (s) {
    case experiment::RolloutState::kRolledBack:
    case experiment::RolloutState::kStopped: return ImVec4(1.0f, 0.45f, 0.4f, 1);
    case experiment::RolloutState::kHolding: return ImVec4(1.0f, 0.8f, 0.3f, 1);
    case experiment::RolloutState::kCompleted: return ImVec4(0.4f, 0.9f, 0.5f, 1);
    default: return ImVec4(0.6f, 0.8f, 1.0f, 1);
  }
}

class ExperimentsPanel final : public Panel {
 public:
  ExperimentsPanel() {
    actor_[0] = '\0';
    reason_[0] = '\0';
  }
  const char* title() const override { return "Experiments"; }
  Tile tile() const override { return {0.0f, 0.0f, 0.55f, 0.55f}; }
  void Draw(const DashboardSnapshot& snap) override {
    if (snap.kill_switch) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "KILL SWITCH ON: every experiment serves control");
    if (snap.experiments.empty()) {
      if (!snap.error.empty() && snap.taken_at_ms == 0) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.4f, 0.4f, 1));
        ImGui::TextWrapped("Cannot read %s: %s", snap.db_path.c_str(), snap.error.c_str());
        ImGui::PopStyleColor();
      } else {
        ImGui::TextDisabled("No experiments in %s yet.", snap.db_path.c_str());
      }
      return;
    }
    const float em = ImGui::GetFontSize();
    for (size_t i = 0; i < snap.experiments.size(); ++i) {
      const storage::ExperimentRecord& e = snap.experiments[i];
      ImGui::PushID(e.name.c_str());
      ImGui::Text("%s", e.name.c_str());
      ImGui::SameLine();
      ImGui::TextDisabled("version %lld", static_cast<long long>(e.current_version));
      if (i < snap.rollouts.size() && !snap.rollouts[i].valid) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.4f, 0.4f, 1));
        ImGui::TextWrapped("NOT SERVED AS STORED: %s", snap.rollouts[i].error.c_str());
        ImGui::PopStyleColor();
      }
      if (i < snap.rollouts.size() && snap.rollouts[i].valid) {
        const RolloutView& r = snap.rollouts[i];
        ImGui::TextColored(StateColor(r.status.state), "%s", experiment::RolloutStateName(r.status.state));
        ImGui::SameLine();
        if (r.config.ramp.empty()) {
          ImGui::Text("no ramp, coverage %.0f%%", 100.0 * experiment::ServingCoverage(r.config, r.status));
        } else {
          ImGui::Text("step %d/%zu, coverage %.0f%%", r.status.step + 1, r.config.ramp.size(),
                      100.0 * experiment::ServingCoverage(r.config, r.status));
        }
        if (experiment::IsLive(r.status.state)) {
          ImGui::SameLine();
          if (ImGui::SmallButton("Roll back...")) {
            target_ = e.name;
            message_.clear();
            ImGui::OpenPopup("rollback");
          }
        }
        if (!r.status.waiting_for_role.empty()) {
          ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1.0f), "waiting for approval by role %s", r.status.waiting_for_role.c_str());
        }
        if (!r.status.reason.empty()) ImGui::TextWrapped("%s", r.status.reason.c_str());
        DrawRollbackPopup(snap);
        for (size_t g = 0; g < r.config.guardrails.size() && g < r.status.guardrails.size(); ++g) {
          const auto& gc = r.config.guardrails[g];
          const auto& gs = r.status.guardrails[g];
          ImGui::TextColored(gs.breached ? ImVec4(1, 0.45f, 0.4f, 1) : ImVec4(0.7f, 0.7f, 0.7f, 1),
                             "  guardrail %-15s diff %+.4g  CI [%+.4g, %+.4g]  p %.3g%s", experiment::MetricName(gc.metric),
                             gs.diff, gs.ci_low, gs.ci_high, gs.p_value, gs.breached ? "  BREACHED" : "");
        }
      } else {
        ImGui::TextDisabled("state: %s", e.state.c_str());
      }
      const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp;
      if (ImGui::BeginTable("arms", 7, flags)) {
        ImGui::TableSetupColumn("arm", ImGuiTableColumnFlags_WidthFixed, 7 * em);
        ImGui::TableSetupColumn("exposures");
        ImGui::TableSetupColumn("users");
        ImGui::TableSetupColumn("clicks");
        ImGui::TableSetupColumn("CTR");
        ImGui::TableSetupColumn("lift vs control");
        ImGui::TableSetupColumn("latency (us)");
        ImGui::TableHeadersRow();
        const storage::ArmCounts* control = nullptr;
        for (const storage::ArmCounts& a : snap.arms) {
          if (a.experiment == e.name && !control && a.arm != "excluded") control = &a;
        }
        for (const storage::ArmCounts& a : snap.arms) {
          if (a.experiment != e.name) continue;
          ImGui::TableNextRow();
          ImGui::TableNextColumn();
          if (a.arm == "excluded") {
            ImGui::TextDisabled("not in exp.");
          } else {
            ImGui::TextUnformatted(a.arm.c_str());
          }
          ImGui::TableNextColumn();
          ImGui::Text("%lld", static_cast<long long>(a.exposures));
          ImGui::TableNextColumn();
          ImGui::Text("%lld", static_cast<long long>(a.users));
          ImGui::TableNextColumn();
          ImGui::Text("%lld", static_cast<long long>(a.clicks));
          ImGui::TableNextColumn();
          ImGui::Text("%.4f", Ctr(a));
          ImGui::TableNextColumn();
          if (&a == control || !control || Ctr(*control) <= 0.0 || a.arm == "excluded") {
            ImGui::TextDisabled("-");
          } else {
            const double lift = Ctr(a) / Ctr(*control) - 1.0;
            ImGui::TextColored(lift >= 0 ? ImVec4(0.4f, 0.9f, 0.5f, 1) : ImVec4(1.0f, 0.5f, 0.4f, 1), "%+.1f%%", 100.0 * lift);
          }
          ImGui::TableNextColumn();
          ImGui::Text("%.0f", a.mean_latency_us);
        }
        ImGui::EndTable();
      }
      ImGui::Spacing();
      ImGui::PopID();
    }
    if (!message_.empty()) ImGui::TextWrapped("%s", message_.c_str());
  }

 private:
  // On-call rollback: who and why are required; the action is durable and audited.
  void DrawRollbackPopup(const DashboardSnapshot& snap) {
    if (!ImGui::BeginPopup("rollback")) return;
    ImGui::Text("Roll back '%s': treatment coverage to 0 for everyone.", target_.c_str());
    ImGui::InputText("actor", actor_, sizeof actor_);
    ImGui::InputText("reason", reason_, sizeof reason_);
    const bool ready = actor_[0] != '\0' && reason_[0] != '\0';
    if (!ready) ImGui::TextDisabled("actor and reason are required");
    if (ImGui::Button("Roll back now") && ready) {
      Status s = RollbackExperiment(snap.db_path, target_, actor_, reason_);
      message_ = s.ok() ? "rolled back '" + target_ + "' (" + reason_ + ")" : "rollback failed: " + s.message();
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }

  std::string target_, message_;
  char actor_[64];
  char reason_[256];
};

class TimelinePanel final : public Panel {
 public:
  const char* title() const override { return "CTR over event time"; }
  Tile tile() const override { return {0.55f, 0.0f, 0.45f, 0.55f}; }
  void Draw(const DashboardSnapshot& snap) override {
    // One series per experiment/arm: CTR per hourly bucket.
    std::map<std::string, Series> by_arm;
    int64_t t0 = INT64_MAX;
    for (const auto& p : snap.timeline) t0 = std::min(t0, p.bucket_start_ms);
    for (const auto& p : snap.timeline) {
      if (p.exposures <= 0) continue;
      Series& s = by_arm[p.experiment + "/" + p.arm];
      s.label = p.arm;
      s.x.push_back(static_cast<double>(p.bucket_start_ms - t0) / 86'400'000.0);
      s.y.push_back(static_cast<double>(p.clicks) / static_cast<double>(p.exposures));
    }
    // Smooth with a trailing 12-bucket window so the lines are readable.
    std::vector<Series> series;
    for (auto& [key, s] : by_arm) {
      Series smooth = s;
      for (size_t i = 0; i < s.y.size(); ++i) {
        const size_t from = i >= 11 ? i - 11 : 0;
        double sum = 0.0;
        for (size_t j = from; j <= i; ++j) sum += s.y[j];
        smooth.y[i] = sum / static_cast<double>(i - from + 1);
      }
      smooth.color = SeriesColor(series.size());
      series.push_back(std::move(smooth));
    }
    ImGui::TextDisabled("clicks per list, 12-hour trailing mean; x: days since first exposure");
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    LinePlot("ctr_plot", series, avail.x, avail.y, "%.3f");
  }
};

class HealthPanel final : public Panel {
 public:
  const char* title() const override { return "Health"; }
  Tile tile() const override { return {0.0f, 0.55f, 0.32f, 0.19f}; }
  void Draw(const DashboardSnapshot& snap) override {
    if (!snap.error.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.4f, 0.4f, 1));
      ImGui::TextWrapped("refresh failed: %s", snap.error.c_str());
      ImGui::PopStyleColor();
    }
    ImGui::Text("database: %s", snap.db_path.c_str());
    ImGui::Text("refreshed: %s UTC", snap.taken_at_ms ? FormatTime(snap.taken_at_ms).c_str() : "never");
    ImGui::Separator();
    ImGui::Text("exposures: %lld", static_cast<long long>(snap.totals.exposures));
    ImGui::Text("feedback events: %lld", static_cast<long long>(snap.totals.feedback));
    ImGui::Text("clicks: %lld", static_cast<long long>(snap.totals.clicks));
    ImGui::Text("audit rows: %lld", static_cast<long long>(snap.totals.audit_rows));
    // Green only for a verified, anchored chain whose rollout states match it; never for a database
    // that could not be read.
    if (!snap.error.empty() && snap.taken_at_ms == 0) {
      ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "audit chain NOT VERIFIED (the database could not be read)");
    } else if (!snap.audit_chain_ok) {
      ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "audit chain BROKEN%s", snap.audit_first_bad_seq
                                                                             ? (" at row " + std::to_string(snap.audit_first_bad_seq)).c_str()
                                                                             : "");
      ImGui::TextWrapped("%s", snap.audit_problem.c_str());
    } else if (!snap.audit_unanchored_reason.empty()) {
      ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1), "audit chain intact but NOT ANCHORED");
      ImGui::TextWrapped("%s", snap.audit_unanchored_reason.c_str());
    } else {
      ImGui::TextColored(ImVec4(0.4f, 0.9f, 0.5f, 1), "audit chain intact, anchored through row %lld",
                         static_cast<long long>(snap.audit_anchored_seq));
    }
  }
};

class AuditPanel final : public Panel {
 public:
  const char* title() const override { return "Audit log"; }
  Tile tile() const override { return {0.32f, 0.55f, 0.68f, 0.45f}; }
  void Draw(const DashboardSnapshot& snap) override {
    const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY;
    if (ImGui::BeginTable("audit", 5, flags)) {
      ImGui::TableSetupScrollFreeze(0, 1);
      const float em = ImGui::GetFontSize();
      ImGui::TableSetupColumn("seq", ImGuiTableColumnFlags_WidthFixed, 2.5f * em);
      ImGui::TableSetupColumn("time (UTC)", ImGuiTableColumnFlags_WidthFixed, 9.5f * em);
      ImGui::TableSetupColumn("actor", ImGuiTableColumnFlags_WidthFixed, 6.5f * em);
      ImGui::TableSetupColumn("action", ImGuiTableColumnFlags_WidthFixed, 10.5f * em);
      ImGui::TableSetupColumn("subject / reason", ImGuiTableColumnFlags_WidthStretch);
      ImGui::TableHeadersRow();
      for (const storage::AuditEntry& e : snap.recent_audit) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("%lld", static_cast<long long>(e.seq));
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(FormatTime(e.ts_ms).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(e.actor.c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(e.action.c_str());
        ImGui::TableNextColumn();
        ImGui::TextWrapped("%s: %s", e.subject.c_str(), e.reason.c_str());
      }
      ImGui::EndTable();
    }
  }
};

class ShadowPanel final : public Panel {
 public:
  const char* title() const override { return "Shadow"; }
  Tile tile() const override { return {0.0f, 0.74f, 0.32f, 0.26f}; }
  void Draw(const DashboardSnapshot& snap) override {
    if (snap.shadow_report.experiments.empty()) {
      ImGui::TextDisabled("no shadow results yet");
      return;
    }
    for (const auto& e : snap.shadow_report.experiments) {
      ImGui::Text("%s vs %s", e.name.c_str(), e.shadow_model.c_str());
      ImGui::Text("overlap@10 %.3f  RBO %.3f  tau %.3f  compared %lld  dropped %lld", e.overlap_at_10, e.rbo, e.kendall_tau,
                  static_cast<long long>(e.compared), static_cast<long long>(e.dropped));
      ImGui::Text("diversity %.3f -> %.3f  novelty %.2f -> %.2f  coverage %.3f -> %.3f", e.served.diversity_index,
                  e.shadow.diversity_index, e.served.novelty, e.shadow.novelty, e.served.coverage, e.shadow.coverage);
      ImGui::Text("p99 %.3f -> %.3f ms  errors/timeouts %lld", e.served.p99_ms, e.shadow.p99_ms,
                  static_cast<long long>(e.shadow.errors));
      // Agreement over event time: a falling line means the models drift apart.
      std::vector<float> overlap;
      for (const auto& w : e.windows) {
        if (w.compared) overlap.push_back(static_cast<float>(w.overlap_at_10));
      }
      if (overlap.size() > 1) {
        ImGui::PlotLines("##overlap", overlap.data(), static_cast<int>(overlap.size()), 0, "overlap@10 per window", 0.0f, 1.0f,
                         ImVec2(ImGui::GetContentRegionAvail().x, 30.0f));
      }
      const shadow::ShadowCounterfactual& cf = e.counterfactual;
      if (cf.rows == 0) {
        ImGui::TextDisabled("counterfactual: not estimable (no logged exploration)");
      } else {
        const ImVec4 colour = cf.unreliable ? ImVec4(0.95f, 0.6f, 0.2f, 1.0f) : ImVec4(0.7f, 0.9f, 0.7f, 1.0f);
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextColored(colour, "counterfactual clicks/list %.3f [%.3f, %.3f] vs logged %.3f, ESS %.0f%s", cf.snips,
                           cf.snips_low, cf.snips_high, cf.logged_clicks_per_list, cf.ess, cf.unreliable ? "  UNRELIABLE" : "");
        ImGui::PopTextWrapPos();
      }
      if (!e.policy.empty()) {
        ImGui::Text("policy violations (%s): shadow %lld, served %lld", e.policy.c_str(), static_cast<long long>(e.violations),
                    static_cast<long long>(e.served.violations));
      }
      ImGui::Separator();
    }
  }
};

}  // namespace

void PanelRegistry::DrawAll(const DashboardSnapshot& snapshot, float display_w, float display_h) {
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                 ImGuiWindowFlags_NoSavedSettings;
  for (const auto& panel : panels_) {
    const Tile t = panel->tile();
    ImGui::SetNextWindowPos(ImVec2(t.x * display_w, t.y * display_h), ImGuiCond_Always);
    ImGui::SetNextWindowSize(ImVec2(t.w * display_w, t.h * display_h), ImGuiCond_Always);
    if (ImGui::Begin(panel->title(), nullptr, flags)) panel->Draw(snapshot);
    ImGui::End();
  }
}

std::unique_ptr<Panel> MakeExperimentsPanel() { return std::make_unique<ExperimentsPanel>(); }
std::unique_ptr<Panel> MakeTimelinePanel() { return std::make_unique<TimelinePanel>(); }
std::unique_ptr<Panel> MakeHealthPanel() { return std::make_unique<HealthPanel>(); }
std::unique_ptr<Panel> MakeAuditPanel() { return std::make_unique<AuditPanel>(); }
std::unique_ptr<Panel> MakeShadowPanel() { return std::make_unique<ShadowPanel>(); }

PanelRegistry DefaultPanels() {
  PanelRegistry registry;
  registry.Register(MakeExperimentsPanel());
  registry.Register(MakeTimelinePanel());
  registry.Register(MakeHealthPanel());
  registry.Register(MakeAuditPanel());
  registry.Register(MakeShadowPanel());
  return registry;
}

}  // namespace steward::gui
