// The experiment owner's workspace: "is my rollout healthy and is the lift real?"
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "experiment/stats.h"
#include "gui/console_view.h"
#include "gui/plot.h"
#include "gui/widgets.h"

namespace steward::gui {
namespace {

using console::ActionKind;
using console::ConsoleSnapshot;
using console::ExperimentView;
using console::Session;

Tone StateTone(experiment::RolloutState s) {
  switch (s) {
    case experiment::RolloutState::kRolledBack:
    case experiment::RolloutState::kStopped: return Tone::kBad;
    case experiment::RolloutState::kHolding: return Tone::kWarn;
    case experiment::RolloutState::kCompleted: return Tone::kGood;
    default: return Tone::kInfo;
  }
}

const ExperimentView* Selected(const ConsoleSnapshot& snap, const ViewState& state) { return snap.Find(state.selected); }

bool NoExperiment(const ConsoleSnapshot& snap, const ExperimentView* e) {
  if (e) return false;
  if (snap.taken_at_ms == 0 && snap.error.empty()) {
    ImGui::TextDisabled("loading...");
  } else if (snap.taken_at_ms == 0) {
    EmptyState("Nothing read yet: the source could not be read.", "See the error at the top; the console retries every refresh.");
  } else if (snap.experiments.empty()) {
    EmptyState("No experiments in this database yet.",
               "Create one in 'Define or change' (an experiment file), or with `steward experiment create --db D --file F`.");
  } else {
    EmptyState("No experiment selected.", "Pick one in the experiment list or the selector at the top.");
  }
  return true;
}

class ExperimentsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Experiments"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    if (snap.experiments.empty()) {
      NoExperiment(snap, nullptr);
      return;
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY;
    if (!ImGui::BeginTable("experiments", 4, flags)) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("experiment", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("state", ImGuiTableColumnFlags_WidthFixed, ImGui::GetFontSize() * 5.5f);
    ImGui::TableSetupColumn("step", ImGuiTableColumnFlags_WidthFixed, ImGui::GetFontSize() * 2.5f);
    ImGui::TableSetupColumn("serving", ImGuiTableColumnFlags_WidthFixed, ImGui::GetFontSize() * 3.5f);
    ImGui::TableHeadersRow();
    for (const ExperimentView& e : snap.experiments) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (ImGui::Selectable(e.record.name.c_str(), e.record.name == state.selected, ImGuiSelectableFlags_SpanAllColumns)) {
        state.selected = e.record.name;
      }
      state.Track("experiment/" + e.record.name);
      ImGui::TableNextColumn();
      if (!e.valid) {
        Badge(Tone::kBad, e.tampered ? "TAMPERED" : "UNREADABLE");
        continue;
      }
      ImGui::TextColored(ToneColor(StateTone(e.status.state)), "%s", experiment::RolloutStateName(e.status.state));
      ImGui::TableNextColumn();
      if (e.config.ramp.empty()) {
        ImGui::TextDisabled("-");
      } else {
        ImGui::Text("%d/%zu", std::max(0, e.status.step + 1), e.config.ramp.size());
      }
      ImGui::TableNextColumn();
      CellRight(FormatPercent(e.serving_coverage, 0));
    }
    ImGui::EndTable();
  }
};

class RolloutPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Rollout: ramp steps and actions"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const ExperimentView* e = Selected(snap, state);
    if (NoExperiment(snap, e)) return;
    if (!e->valid) {
      ToneText(Tone::kBad, "NOT SERVED AS STORED: " + e->error);
      return;
    }
    const experiment::RolloutStatus& s = e->status;
    Badge(StateTone(s.state), experiment::RolloutStateName(s.state));
    ImGui::SameLine();
    ImGui::Text("%s  version %lld  serving %s of users", e->record.name.c_str(), static_cast<long long>(e->record.current_version),
                FormatPercent(e->serving_coverage, 0).c_str());
    if (!s.reason.empty()) ToneText(Tone::kMuted, "last change: " + s.reason);
    if (!s.blocked.empty()) ToneText(Tone::kBad, "BLOCKED by a reviewer: " + s.blocked);
    if (s.pending_version > 0) ToneText(Tone::kWarn, "version " + std::to_string(s.pending_version) + " proposed, awaiting approval");
    DrawTimeline(*e);
    // Actions, each confirmed in a dialog; the role is checked when the action is posted.
    const float em = ImGui::GetFontSize();
    const bool startable = s.state == experiment::RolloutState::kDraft || s.state == experiment::RolloutState::kShadow;
    const bool live = experiment::IsLive(s.state);
    ImGui::BeginDisabled(!startable);
    if (ImGui::Button("Start...", ImVec2(6 * em, 0))) Ask(state, ActionKind::kStart, *e, "Start '" + e->record.name + "': draft -> shadow or ramp step 1.", false);
    state.Track("owner/start");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!live);
    if (ImGui::Button("Promote...", ImVec2(6 * em, 0))) {
      Ask(state, ActionKind::kPromote, *e,
          "Promote '" + e->record.name + "' to the next step now, skipping its duration and sample conditions (not its approval).", false);
    }
    state.Track("owner/promote");
    ImGui::SameLine();
    if (ImGui::Button("Stop...", ImVec2(6 * em, 0))) Ask(state, ActionKind::kStop, *e, "Stop '" + e->record.name + "': everyone gets control.", true);
    state.Track("owner/stop");
    ImGui::EndDisabled();
    if (!startable && !live) ImGui::TextDisabled("The experiment is %s: nothing to start, promote or stop.", experiment::RolloutStateName(s.state));
  }

 private:
  static void Ask(ViewState& state, ActionKind kind, const ExperimentView& e, std::string prompt, bool reason_required) {
    console::Action a;
    a.kind = kind;
    a.experiment = e.record.name;
    state.Ask(std::move(a), std::move(prompt), reason_required);
  }

  static void DrawTimeline(const ExperimentView& e) {
    const auto& ramp = e.config.ramp;
    if (ramp.empty()) {
      ImGui::TextDisabled("No ramp: the experiment runs at coverage %s once started.", FormatPercent(e.config.coverage, 0).c_str());
      return;
    }
    int64_t min_users = INT64_MAX;
    for (const auto& a : e.arms) {
      if (!a.excluded) min_users = std::min(min_users, a.users);
    }
    if (min_users == INT64_MAX) min_users = 0;
    const float em = ImGui::GetFontSize();
    const float avail = ImGui::GetContentRegionAvail().x;
    const float box_w = std::max(8 * em, (avail - em * 0.5f * static_cast<float>(ramp.size() - 1)) / static_cast<float>(ramp.size()));
    const int step = e.status.step;
    for (size_t i = 0; i < ramp.size(); ++i) {
      const auto& r = ramp[i];
      if (i > 0) ImGui::SameLine(0, em * 0.5f);
      const bool done = static_cast<int>(i) < step || e.status.state == experiment::RolloutState::kCompleted;
      const bool current = static_cast<int>(i) == step && experiment::IsLive(e.status.state);
      const bool next = static_cast<int>(i) == step + 1;
      ImGui::PushID(static_cast<int>(i));
      ImGui::PushStyleColor(ImGuiCol_Border, current ? ToneColor(Tone::kInfo) : ImGui::GetStyleColorVec4(ImGuiCol_Border));
      ImGui::BeginChild("step", ImVec2(box_w, em * 7.6f), true, ImGuiWindowFlags_NoScrollbar);
      ImGui::Text("Step %zu: %s", i + 1, FormatPercent(r.coverage, 0).c_str());
      ImGui::SameLine();
      if (done) {
        Badge(Tone::kGood, "done");
      } else if (current) {
        Badge(Tone::kInfo, "current");
      } else if (next) {
        Badge(Tone::kWarn, "next");
      } else {
        Badge(Tone::kMuted, "later");
      }
      // Conditions to leave this step (for the current one: progress against each).
      const int64_t elapsed = current ? std::max<int64_t>(0, e.last_exposure_ms - e.status.step_started_ms) : 0;
      ImGui::TextDisabled("min duration");
      ImGui::SameLine();
      if (current) {
        ImGui::TextColored(ToneColor(elapsed >= r.min_duration_ms ? Tone::kGood : Tone::kWarn), "%s / %s", FormatDuration(elapsed).c_str(),
                           FormatDuration(r.min_duration_ms).c_str());
      } else {
        ImGui::Text("%s", FormatDuration(r.min_duration_ms).c_str());
      }
      ImGui::TextDisabled("users per arm");
      ImGui::SameLine();
      if (current) {
        ImGui::TextColored(ToneColor(min_users >= r.min_users_per_arm ? Tone::kGood : Tone::kWarn), "%s / %s", FormatCount(min_users).c_str(),
                           FormatCount(r.min_users_per_arm).c_str());
      } else {
        ImGui::Text("%s", FormatCount(r.min_users_per_arm).c_str());
      }
      ImGui::TextDisabled("approval");
      ImGui::SameLine();
      if (r.approval.empty()) {
        ImGui::TextUnformatted("none");
      } else {
        const bool approved = done || (next && std::find(e.status.approvals.begin(), e.status.approvals.end(), r.approval) != e.status.approvals.end());
        ImGui::TextColored(ToneColor(approved ? Tone::kGood : Tone::kWarn), "%s%s", r.approval.c_str(), approved ? " (given)" : "");
      }
      if (next && !e.status.waiting_for_role.empty()) {
        ImGui::TextColored(ToneColor(Tone::kWarn), "waits for %s", e.status.waiting_for_role.c_str());
      }
      ImGui::EndChild();
      ImGui::PopStyleColor();
      ImGui::PopID();
    }
  }
};

class ArmsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Arms: exposures, users and primary metrics vs control"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const ExperimentView* e = Selected(snap, state);
    if (NoExperiment(snap, e)) return;
    if (!snap.has_traffic_figures) {
      EmptyState("The HTTP API serves no per-arm traffic figures.", "Open the console on the database (--db) to see them.");
      return;
    }
    if (e->arms.empty()) {
      EmptyState("No exposures of '" + e->record.name + "' yet.", "Start it (Rollout panel) and send traffic: `steward demo` or the /v1/recommend API.");
      return;
    }
    if (e->srm_checked) {
      ImGui::Text("Sample ratio (users vs configured weights):");
      ImGui::SameLine();
      if (e->srm_mismatch) {
        Badge(Tone::kBad, "MISMATCH");
      } else {
        Badge(Tone::kGood, "OK");
      }
      ImGui::SameLine();
      ImGui::TextDisabled("chi-square p = %.3g (flag below 0.001)", e->srm_p);
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp;
    if (!ImGui::BeginTable("arms", 7, flags)) return;
    ImGui::TableSetupColumn("arm");
    ImGui::TableSetupColumn("exposures");
    ImGui::TableSetupColumn("users");
    ImGui::TableSetupColumn("clicks / list [95% CI]");
    ImGui::TableSetupColumn("metric");
    ImGui::TableSetupColumn("lift vs control [95% CI]");
    ImGui::TableSetupColumn("p (always valid)");
    ImGui::TableHeadersRow();
    for (const console::ArmStats& a : e->arms) {
      const size_t rows = std::max<size_t>(1, a.vs_control.size());
      for (size_t m = 0; m < rows; ++m) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        if (m == 0) {
          if (a.excluded) {
            ImGui::TextDisabled("outside coverage");
          } else {
            ImGui::TextUnformatted(a.name.c_str());
          }
          ImGui::TableNextColumn();
          CellRight(FormatCount(a.exposures));
          ImGui::TableNextColumn();
          CellRight(FormatCount(a.users));
          ImGui::TableNextColumn();
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.4f [%.4f, %.4f]", a.ctr, a.ctr_low, a.ctr_high);
          CellRight(buf);
        } else {
          ImGui::TableNextColumn();
          ImGui::TableNextColumn();
          ImGui::TableNextColumn();
        }
        ImGui::TableNextColumn();
        if (a.vs_control.empty()) {
          ImGui::TextDisabled(a.excluded ? "not compared" : "control");
          ImGui::TableNextColumn();
          ImGui::TableNextColumn();
          continue;
        }
        const console::MetricComparison& c = a.vs_control[m];
        ImGui::TextUnformatted(c.metric.c_str());
        ImGui::TableNextColumn();
        if (!c.defined) {
          ImGui::TextDisabled("needs users in both arms");
          ImGui::TableNextColumn();
          continue;
        }
        const bool significant = c.p_always_valid < e->config.decision.alpha;
        const Tone tone = !significant ? Tone::kMuted : (c.rel_lift > 0 ? Tone::kGood : Tone::kBad);
        char buf[96];
        std::snprintf(buf, sizeof buf, "%+.1f%% [%+.1f%%, %+.1f%%]", 100 * c.rel_lift, 100 * c.rel_low, 100 * c.rel_high);
        ImGui::TextColored(ToneColor(tone), "%s", buf);
        ImGui::TableNextColumn();
        ImGui::Text("%.3g %s", c.p_always_valid, significant ? (c.rel_lift > 0 ? "(real gain)" : "(real loss)") : "(not yet)");
      }
    }
    ImGui::EndTable();
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("Intervals: delta method over users, valid at a single look. p: mSPRT, valid however often you look; a lift "
                       "is called real only when p < alpha (%.2f).", e->config.decision.alpha);
    ImGui::PopStyleColor();
  }
};

class CtrTimelinePanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Clicks per list over event time"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const ExperimentView* e = Selected(snap, state);
    if (NoExperiment(snap, e)) return;
    if (!snap.has_traffic_figures) {
      EmptyState("The HTTP API serves no per-arm traffic figures.", "Open the console on the database (--db) to see them.");
      return;
    }
    std::vector<Series> series;
    for (const auto& [arm, points] : e->series) {
      Series s;
      s.label = arm == "excluded" ? "outside coverage" : arm;
      s.color = SeriesColor(series.size());
      s.dashed = series.size() % 2 == 1;
      // 6-hour trailing sums, so sparse hours do not swing the line.
      for (size_t i = 0; i < points.size(); ++i) {
        int64_t ex = 0, cl = 0;
        for (size_t j = i >= 5 ? i - 5 : 0; j <= i; ++j) {
          ex += points[j].exposures;
          cl += points[j].clicks;
        }
        if (ex == 0) continue;
        s.x.push_back(static_cast<double>(points[i].bucket_start_ms));
        s.y.push_back(static_cast<double>(cl) / static_cast<double>(ex));
      }
      series.push_back(std::move(s));
    }
    PlotAxes axes;
    axes.y_label = "clicks per list (6-hour trailing)";
    axes.x_label = "event time (UTC)";
    axes.x_is_time = true;
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    LinePlot("ctr", series, avail.x, avail.y, axes, "No exposures yet: start the experiment and send traffic.");
  }
};

class PowerPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Sample size and power"; }
  void Draw(const ConsoleSnapshot& snap, Session&, ViewState& state) override {
    const ExperimentView* e = Selected(snap, state);
    if (e && state.power_baseline <= 0.0 && !e->arms.empty() && e->arms.front().ctr > 0) {
      state.power_baseline = std::min(0.99, e->arms.front().ctr);
      state.power_mde = e->config.decision.mde;
      state.power_alpha = e->config.decision.alpha;
      state.power = e->config.decision.power;
    }
    if (state.power_baseline <= 0.0) state.power_baseline = 0.05;
    const float em = ImGui::GetFontSize();
    ImGui::PushItemWidth(7 * em);
    ImGui::InputDouble("baseline rate", &state.power_baseline, 0.0, 0.0, "%.4f");
    ImGui::InputDouble("relative MDE", &state.power_mde, 0.0, 0.0, "%.3f");
    ImGui::InputDouble("alpha", &state.power_alpha, 0.0, 0.0, "%.3f");
    ImGui::InputDouble("power", &state.power, 0.0, 0.0, "%.2f");
    ImGui::PopItemWidth();
    auto n = experiment::SampleSizePerArm(state.power_baseline, state.power_mde, state.power_alpha, state.power);
    if (!n.ok()) {
      ToneText(Tone::kBad, n.status().message());
      return;
    }
    ImGui::Text("needs %s units per arm", FormatCount(*n).c_str());
    if (e && !e->arms.empty()) {
      int64_t have = INT64_MAX;
      for (const auto& a : e->arms) {
        if (!a.excluded) have = std::min(have, a.exposures);
      }
      const double share = *n > 0 ? std::min(1.0, static_cast<double>(have) / static_cast<double>(*n)) : 1.0;
      ImGui::ProgressBar(static_cast<float>(share), ImVec2(-1, 0), (FormatCount(have) + " lists in the smallest arm").c_str());
    }
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("Two-proportion z-test; units are lists (the baseline is control's clicks per list).");
    ImGui::PopStyleColor();
  }
};

class DefinePanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Define or change"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    const float em = ImGui::GetFontSize();
    ImGui::TextUnformatted("Experiment file (YAML or JSON)");
    ImGui::SetNextItemWidth(-12 * em);
    ImGui::InputText("##definition", state.definition_path, sizeof state.definition_path);
    state.Track("owner/definition");
    ImGui::SameLine();
    if (ImGui::Button("Validate")) session.RequestValidation(state.definition_path);
    state.Track("owner/validate");
    ImGui::SameLine();
    if (ImGui::Button("Save...")) {
      console::Action a;
      a.kind = ActionKind::kCreate;
      a.definition_source = state.definition_path;
      state.Ask(std::move(a), std::string("Save the definition in ") + state.definition_path +
                                  " (a new experiment in draft, or a new version of an existing one).", false);
    }
    state.Track("owner/save");
    // The validation's outcome, at the field it names.
    if (auto checked = session.validation(state.definition_path)) {
      if (checked->ok()) {
        ToneText(Tone::kGood, **checked);
      } else {
        const console::FieldError fe = console::ParseFieldError(checked->status().message());
        if (!fe.field.empty()) {
          ImGui::TextColored(ToneColor(Tone::kBad), "[invalid] field %s%s", fe.field.c_str(),
                             fe.line > 0 ? (" (line " + std::to_string(fe.line) + ")").c_str() : "");
        }
        ToneText(Tone::kBad, fe.message);
      }
    } else if (state.definition_path[0] == '\0') {
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      ImGui::TextWrapped("e.g. data/experiments/demo.yaml; Validate checks it without saving.");
      ImGui::PopStyleColor();
    }
    ImGui::Separator();
    const ExperimentView* e = Selected(snap, state);
    if (!e || !e->valid || e->config.ramp.empty()) {
      ImGui::TextDisabled("Select an experiment with a ramp to edit its steps.");
      return;
    }
    if (state.ramp_for != e->record.name + "@" + std::to_string(e->record.current_version)) {
      state.ramp_for = e->record.name + "@" + std::to_string(e->record.current_version);
      state.ramp_coverage.assign(e->config.ramp.size(), {});
      for (size_t i = 0; i < e->config.ramp.size(); ++i) {
        std::snprintf(state.ramp_coverage[i].data(), state.ramp_coverage[i].size(), "%g", 100.0 * e->config.ramp[i].coverage);
      }
    }
    ImGui::TextWrapped("Ramp of '%s' (coverage %% per step; saved as a new version)", e->record.name.c_str());
    std::vector<double> coverage;
    for (size_t i = 0; i < state.ramp_coverage.size(); ++i) {
      ImGui::PushID(static_cast<int>(i));
      if (i > 0) ImGui::SameLine();
      ImGui::SetNextItemWidth(4 * em);
      ImGui::InputText("##cov", state.ramp_coverage[i].data(), state.ramp_coverage[i].size(), ImGuiInputTextFlags_CharsDecimal);
      state.Track("owner/ramp/" + std::to_string(i));
      coverage.push_back(std::atof(state.ramp_coverage[i].data()) / 100.0);
      ImGui::PopID();
    }
    auto edit = console::EditRampCoverage(e->config.source_json, coverage);
    if (!edit.ok()) {
      const console::FieldError fe = console::ParseFieldError("field '" + edit.status().message().substr(0, edit.status().message().find(':')) + "'");
      ImGui::TextColored(ToneColor(Tone::kBad), "[invalid] %s: %s", fe.field.c_str(), edit.status().message().c_str());
      return;
    }
    if (edit->diff.empty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      ImGui::TextWrapped("No change yet: edit a step's coverage to propose a new version.");
      ImGui::PopStyleColor();
      return;
    }
    for (const std::string& d : edit->diff) ImGui::TextColored(ToneColor(Tone::kWarn), "~ %s", d.c_str());
    if (ImGui::Button("Save ramp as a new version...")) {
      console::Action a;
      a.kind = ActionKind::kCreate;
      a.experiment = e->record.name;
      a.definition = edit->definition;
      a.definition_source = e->record.name + " (edited ramp)";
      std::string prompt = "Save '" + e->record.name + "' as a new version with this ramp:";
      for (const std::string& d : edit->diff) prompt += "\n  " + d;
      state.Ask(std::move(a), prompt, experiment::IsLive(e->status.state));
    }
    state.Track("owner/save-ramp");
  }
};

}  // namespace

WorkspaceLayout MakeOwnerWorkspace() {
  WorkspaceLayout w{Workspace::kOwner, {}};
  w.cells.push_back({std::make_unique<ExperimentsPanel>(), 0.00f, 0.00f, 0.27f, 0.40f});
  w.cells.push_back({std::make_unique<DefinePanel>(), 0.00f, 0.40f, 0.27f, 0.35f});
  w.cells.push_back({std::make_unique<PowerPanel>(), 0.00f, 0.75f, 0.27f, 0.25f});
  w.cells.push_back({std::make_unique<RolloutPanel>(), 0.27f, 0.00f, 0.73f, 0.36f});
  w.cells.push_back({std::make_unique<ArmsPanel>(), 0.27f, 0.36f, 0.73f, 0.30f});
  w.cells.push_back({std::make_unique<CtrTimelinePanel>(), 0.27f, 0.66f, 0.73f, 0.34f});
  return w;
}

}  // namespace steward::gui
