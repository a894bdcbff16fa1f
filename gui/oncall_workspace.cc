// The on-call engineer's workspace: "is anything on fire, and can I stop it?"
#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "gui/console_view.h"
#include "gui/plot.h"
#include "gui/widgets.h"

namespace steward::gui {
namespace {

using console::ConsoleSnapshot;
using console::ExperimentView;
using console::Session;

// No new exposure for this long (wall time) while live is a no-traffic alert.
constexpr int64_t kNoTrafficMs = 5 * 60 * 1000;

class AlertsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Alerts"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState&) override {
    if (snap.taken_at_ms == 0 && snap.error.empty()) {
      ImGui::TextDisabled("loading...");
      return;
    }
    int alerts = 0;
    auto alert = [&](Tone tone, const char* word, const std::string& text) {
      ++alerts;
      Badge(tone, word);
      ImGui::SameLine();
      ImGui::TextWrapped("%s", text.c_str());
    };
    if (!snap.error.empty()) alert(Tone::kBad, "READ FAILED", snap.error);
    if (snap.kill_switch) alert(Tone::kBad, "KILL SWITCH", "on: every experiment serves control");
    if (!snap.chain.ok) alert(Tone::kBad, "AUDIT CHAIN", snap.chain.problem);
    for (const ExperimentView& e : snap.experiments) {
      const std::string& n = e.record.name;
      if (!e.valid) {
        alert(Tone::kBad, e.tampered ? "TAMPERED" : "UNREADABLE", n + ": " + e.error);
        continue;
      }
      for (size_t g = 0; g < e.status.guardrails.size() && g < e.config.guardrails.size(); ++g) {
        if (e.status.guardrails[g].breached) {
          alert(Tone::kBad, "GUARDRAIL", n + ": " + experiment::MetricName(e.config.guardrails[g].metric) + " breached");
        }
      }
      if (e.srm_mismatch) {
        char p[32];
        std::snprintf(p, sizeof p, "%.2g", e.srm_p);
        alert(Tone::kBad, "SRM", n + ": users per arm do not match the weights (p = " + p + ")");
      }
      if (experiment::IsLive(e.status.state)) {
        if (e.status.quiet_analyses > 0) {
          alert(Tone::kWarn, "NO TRAFFIC", n + ": " + std::to_string(e.status.quiet_analyses) + " analyses in a row saw no new lists");
        } else if (e.last_new_traffic_wall_ms > 0 && snap.taken_at_ms - e.last_new_traffic_wall_ms > kNoTrafficMs) {
          alert(Tone::kWarn, "NO TRAFFIC", n + ": no new exposures for " + FormatDuration(snap.taken_at_ms - e.last_new_traffic_wall_ms));
        }
      }
      if (e.status.state == experiment::RolloutState::kRolledBack) alert(Tone::kWarn, "ROLLED BACK", n + ": " + e.status.reason);
      if (e.status.state == experiment::RolloutState::kHolding) alert(Tone::kWarn, "HOLDING", n + ": " + e.status.reason);
    }
    if (snap.rejected_events > 0) alert(Tone::kWarn, "REFUSED EVENTS", FormatCount(snap.rejected_events) + " events refused; newest: " + snap.last_rejected_error);
    if (alerts == 0) {
      Badge(Tone::kGood, "ALL CLEAR");
      ImGui::SameLine();
      ImGui::TextUnformatted("no guardrail, SRM, traffic, chain or writer alert");
    }
  }
};

class LatencyPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Serving latency per arm (hourly, event time)"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const ExperimentView* e = snap.Find(state.selected);
    if (!e) {
      EmptyState("No experiment selected.", "Pick one with the selector at the top.");
      return;
    }
    if (!snap.has_traffic_figures) {
      EmptyState("The HTTP API serves no per-arm traffic figures.", "Open the console on the database (--db) to see them.");
      return;
    }
    std::vector<Series> series;
    size_t i = 0;
    for (const auto& [arm, points] : e->series) {
      Series p50, p99;
      p50.label = arm + " p50";
      p99.label = arm + " p99";
      p50.color = p99.color = SeriesColor(i++);
      p99.dashed = true;
      for (const console::ArmSeriesPoint& p : points) {
        p50.x.push_back(static_cast<double>(p.bucket_start_ms));
        p50.y.push_back(p.latency_p50_ms);
        p99.x.push_back(static_cast<double>(p.bucket_start_ms));
        p99.y.push_back(p.latency_p99_ms);
      }
      series.push_back(std::move(p50));
      series.push_back(std::move(p99));
    }
    // Serving latencies span microseconds (a lookup) to milliseconds (the hybrid): one unit per
    // panel, microseconds unless something reaches a millisecond, so values compare at a glance.
    double max_ms = 0.0;
    for (const console::ArmStats& a : e->arms) max_ms = std::max(max_ms, a.latency_p99_ms);
    for (const Series& s : series) {
      for (double y : s.y) max_ms = std::max(max_ms, y);
    }
    const bool in_us = max_ms < 1.0;
    const double scale = in_us ? 1000.0 : 1.0;
    const char* unit = in_us ? "us" : "ms";
    if (in_us) {
      for (Series& s : series) {
        for (double& y : s.y) y *= scale;
      }
    }
    std::string summary;
    for (const console::ArmStats& a : e->arms) {
      char buf[160];
      std::snprintf(buf, sizeof buf, in_us ? "%s%s: p50 %.0f %s, p99 %.0f %s" : "%s%s: p50 %.2f %s, p99 %.2f %s", summary.empty() ? "" : "   ",
                    a.excluded ? "outside coverage" : a.name.c_str(), a.latency_p50_ms * scale, unit, a.latency_p99_ms * scale, unit);
      summary += buf;
    }
    ImGui::TextWrapped("%s", summary.c_str());
    Muted("Serving errors are not stored per request: the error-rate guardrail's evidence is under Guardrails.");
    PlotAxes axes;
    axes.y_format = in_us ? "%.0f us" : "%.1f ms";
    axes.y_label = "latency (solid p50, dashed p99)";
    axes.x_label = "event time (UTC)";
    axes.x_is_time = true;
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    LinePlot("latency", series, avail.x, avail.y, axes, "No exposures yet.");
  }
};

class GuardrailsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Guardrails and their evidence"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState&) override {
    bool any = false;
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
    if (!ImGui::BeginTable("guardrails", 5, flags)) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("metric (harm)", ImGuiTableColumnFlags_WidthStretch, 1.7f);
    ImGui::TableSetupColumn("control -> treat.", ImGuiTableColumnFlags_WidthStretch, 1.3f);
    ImGui::TableSetupColumn("diff [95% CI]", ImGuiTableColumnFlags_WidthStretch, 2.0f);
    ImGui::TableSetupColumn("p", ImGuiTableColumnFlags_WidthStretch, 0.5f);
    ImGui::TableSetupColumn("state", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableHeadersRow();
    for (const ExperimentView& e : snap.experiments) {
      if (!e.valid || e.config.guardrails.empty()) continue;
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextColored(ToneColor(Tone::kInfo), "%s", e.record.name.c_str());
      for (size_t g = 0; g < e.config.guardrails.size(); ++g) {
        any = true;
        const auto& gc = e.config.guardrails[g];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("  %s (%s%g%s)", experiment::MetricName(gc.metric), gc.harm == experiment::HarmDirection::kDecrease ? "-" : "+",
                    gc.relative ? 100 * gc.threshold : gc.threshold, gc.relative ? "%" : "");
        if (g >= e.status.guardrails.size()) {
          ImGui::TableNextColumn();
          ImGui::TextDisabled("not analysed yet");
          ImGui::TableNextColumn();
          ImGui::TableNextColumn();
          Badge(Tone::kMuted, "waiting");
          continue;
        }
        const auto& gs = e.status.guardrails[g];
        ImGui::TableNextColumn();
        ImGui::Text("%.3g -> %.3g", gs.control, gs.treatment);
        ImGui::TableNextColumn();
        ImGui::Text("%+.3g [%+.3g, %+.3g]", gs.diff, gs.ci_low, gs.ci_high);
        ImGui::TableNextColumn();
        ImGui::Text("%.3g", gs.p_value);
        ImGui::TableNextColumn();
        Badge(gs.breached ? Tone::kBad : Tone::kGood, gs.breached ? "BREACHED" : "ok");
      }
    }
    ImGui::EndTable();
    if (!any) EmptyState("No guardrails declared.", "Add `guardrails:` to an experiment's definition (docs/experiments.md).");
  }
};

class HealthPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Event writer, shadow queue and audit chain"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState&) override {
    if (!ImGui::BeginTable("health", 2, ImGuiTableFlags_SizingStretchProp)) return;
    if (!snap.has_traffic_figures) {
      KeyValue("event writer", "not served by the HTTP API: see its GET /metrics (steward_event_writer_*), or open the console with --db");
    } else {
    KeyValue("exposures stored", FormatCount(snap.exposures));
    KeyValue("feedback events stored", FormatCount(snap.feedback));
    KeyValue("events refused", snap.rejected_events == 0 ? "0" : FormatCount(snap.rejected_events) + " (newest: " + snap.last_rejected_error + ")");
    for (const ExperimentView& e : snap.experiments) {
      if (e.shadow.results == 0) continue;
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s results stored, %s errors, %s timeouts, p99 %.3g ms", FormatCount(e.shadow.results).c_str(),
                    FormatCount(e.shadow.errors).c_str(), FormatCount(e.shadow.timeouts).c_str(), e.shadow.latency_p99_ms);
      KeyValue(("shadow: " + e.record.name).c_str(), buf);
    }
    }
    KeyValue("queues", "queue depths live in the writing process: its GET /metrics (steward_event_writer_queue_depth, "
                       "steward_shadow_queue_depth)");
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextDisabled("audit chain");
    ImGui::TableNextColumn();
    if (snap.taken_at_ms == 0) {
      ImGui::TextDisabled("not verified yet");
    } else if (!snap.chain.ok) {
      Badge(Tone::kBad, "BROKEN");
      ImGui::SameLine();
      ImGui::TextWrapped("at row %lld: %s", static_cast<long long>(snap.chain.first_bad_seq), snap.chain.problem.c_str());
    } else {
      Badge(snap.chain.unanchored_reason.empty() ? Tone::kGood : Tone::kWarn, snap.chain.unanchored_reason.empty() ? "INTACT" : "NOT ANCHORED");
      ImGui::SameLine();
      ImGui::TextWrapped("verified through row %s (+%lld this refresh); anchored through row %s at open%s%s",
                         FormatCount(snap.chain.verified_through_seq).c_str(), static_cast<long long>(snap.chain.rows_verified_last_refresh),
                         FormatCount(snap.chain.anchored_seq).c_str(), snap.chain.unanchored_reason.empty() ? "" : ": ",
                         snap.chain.unanchored_reason.c_str());
    }
    ImGui::EndTable();
  }
};

class ControlsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Stop it: rollback and kill switch"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const float em = ImGui::GetFontSize();
    if (snap.kill_switch) {
      Badge(Tone::kBad, "KILL SWITCH ON");
      ImGui::SameLine();
      if (ImGui::Button("Turn kill switch off...")) Kill(state, false);
    } else {
      Badge(Tone::kGood, "kill switch off");
      ImGui::SameLine();
      if (ImGui::Button("KILL SWITCH...")) Kill(state, true);
    }
    state.Track("oncall/kill");
    ImGui::Separator();
    bool any = false;
    for (const ExperimentView& e : snap.experiments) {
      if (!e.valid) continue;
      ImGui::PushID(e.record.name.c_str());
      ImGui::Text("%s", e.record.name.c_str());
      ImGui::SameLine(12 * em);
      ImGui::TextDisabled("%s, serving %s", experiment::RolloutStateName(e.status.state), FormatPercent(e.serving_coverage, 0).c_str());
      ImGui::SameLine(24 * em);
      if (ImGui::Button("Roll back...")) {
        console::Action a;
        a.kind = console::ActionKind::kRollback;
        a.experiment = e.record.name;
        state.Ask(std::move(a), "Roll back '" + e.record.name + "': treatment coverage to 0 for everyone, durable before the next request.", true);
      }
      state.Track("oncall/rollback/" + e.record.name);
      any = true;
      ImGui::PopID();
    }
    if (!any) EmptyState("Nothing to roll back.", "No readable experiment in this database.");
  }

 private:
  static void Kill(ViewState& state, bool on) {
    console::Action a;
    a.kind = console::ActionKind::kKillSwitch;
    a.on = on;
    state.Ask(std::move(a), on ? "Turn the KILL SWITCH ON: every live experiment is rolled back; starts and promotions are refused until it is off."
                               : "Turn the kill switch off: experiments may be started and promoted again (rolled-back ones stay rolled back).",
              true);
  }
};

class AuditRowsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Newest audit rows"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState&) override {
    if (snap.recent_audit.empty()) {
      EmptyState("The audit log is empty.", "Every action (create, start, rollback, sign-off) appends a row here.");
      return;
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY;
    if (!ImGui::BeginTable("audit", 5, flags)) return;
    const float em = ImGui::GetFontSize();
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("seq", ImGuiTableColumnFlags_WidthFixed, 2.5f * em);
    ImGui::TableSetupColumn("time", ImGuiTableColumnFlags_WidthFixed, 10.5f * em);
    ImGui::TableSetupColumn("actor", ImGuiTableColumnFlags_WidthStretch, 0.8f);
    ImGui::TableSetupColumn("action", ImGuiTableColumnFlags_WidthStretch, 1.1f);
    ImGui::TableSetupColumn("subject: reason", ImGuiTableColumnFlags_WidthStretch, 2.4f);
    ImGui::TableHeadersRow();
    for (const storage::AuditEntry& e : snap.recent_audit) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::Text("%lld", static_cast<long long>(e.seq));
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(FormatUtc(e.ts_ms).c_str());
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(e.actor.c_str());
      ImGui::TableNextColumn();
      const bool alarm = e.action == "experiment.rollback" || e.action == "kill_switch.on" || e.action == "auth.denied";
      if (alarm) {
        ImGui::TextColored(ToneColor(Tone::kBad), "%s", e.action.c_str());
      } else {
        ImGui::TextUnformatted(e.action.c_str());
      }
      ImGui::TableNextColumn();
      ImGui::TextWrapped("%s: %s", e.subject.c_str(), e.reason.c_str());
    }
    ImGui::EndTable();
  }
};

}  // namespace

WorkspaceLayout MakeOncallWorkspace() {
  WorkspaceLayout w{Workspace::kOncall, {}};
  w.cells.push_back({std::make_unique<AlertsPanel>(), 0.00f, 0.00f, 0.45f, 0.24f});
  w.cells.push_back({std::make_unique<ControlsPanel>(), 0.00f, 0.24f, 0.45f, 0.22f});
  w.cells.push_back({std::make_unique<LatencyPanel>(), 0.45f, 0.00f, 0.55f, 0.46f});
  w.cells.push_back({std::make_unique<GuardrailsPanel>(), 0.00f, 0.46f, 0.45f, 0.26f});
  w.cells.push_back({std::make_unique<HealthPanel>(), 0.00f, 0.72f, 0.45f, 0.28f});
  w.cells.push_back({std::make_unique<AuditRowsPanel>(), 0.45f, 0.46f, 0.55f, 0.54f});
  return w;
}

}  // namespace steward::gui
