// The responsible-AI reviewer's workspace: "is this fair and safe enough to widen?" Every figure is
// the governance audit's (fairness/audit.h, computed on the session's worker); none is recomputed
// here.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "gui/console_view.h"
#include "gui/plot.h"
#include "gui/widgets.h"

namespace steward::gui {
namespace {

using console::ConsoleSnapshot;
using console::ExperimentView;
using console::GovernanceReport;
using console::Session;

std::string SideName(const fairness::ArmAudit& a) {
  if (a.shadow) return a.name.rfind("shadow", 0) == 0 ? a.name : a.name + " (shadow)";
  if (a.excluded) return "outside coverage";
  return a.name;
}

std::string FigureText(const fairness::Figure& f) {
  if (!f.defined) return "n/a";
  char buf[80];
  if (f.ci_high > f.ci_low) {
    std::snprintf(buf, sizeof buf, "%.3g [%.3g, %.3g]", f.value, f.ci_low, f.ci_high);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", f.value);
  }
  return buf;
}

// The report of the selected experiment, or an empty state (and the request for one).
std::shared_ptr<const GovernanceReport> ReportOrEmpty(const ConsoleSnapshot& snap, Session& session, ViewState& state,
                                                      std::set<std::string>* requested) {
  const ExperimentView* e = snap.Find(state.selected);
  if (!e && snap.taken_at_ms == 0) {
    EmptyState(snap.error.empty() ? "Loading..." : "Nothing read yet: the source could not be read.",
               snap.error.empty() ? "" : "See the error at the top; the console retries every refresh.");
    return nullptr;
  }
  if (!e) {
    EmptyState(snap.experiments.empty() ? "No experiments in this database yet." : "No experiment selected.",
               snap.experiments.empty() ? "An owner creates one (Experiment owner workspace) and starts it; the audit reads its exposures."
                                        : "Pick one with the selector at the top.");
    return nullptr;
  }
  auto report = session.audit(e->record.name);
  if (!report) {
    if (requested && requested->insert(e->record.name).second) session.RequestAudit(e->record.name);
    if (session.audit_pending(e->record.name)) {
      ImGui::TextDisabled("Computing the governance audit of '%s' (reads every exposure)...", e->record.name.c_str());
    } else {
      EmptyState("No audit of '" + e->record.name + "' yet.", "Press 'Compute audit' in the Audit panel.");
    }
  }
  return report;
}

class AuditPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Governance audit (fairness/audit.h)"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    const ExperimentView* e = snap.Find(state.selected);
    if (e) {
      const bool pending = session.audit_pending(e->record.name);
      ImGui::BeginDisabled(pending);
      if (ImGui::Button(pending ? "Computing..." : "Compute audit")) session.RequestAudit(e->record.name);
      state.Track("reviewer/compute");
      ImGui::EndDisabled();
      ImGui::SameLine();
    }
    auto report = ReportOrEmpty(snap, session, state, &requested_);
    if (!report) return;
    const fairness::ExperimentAudit& a = report->audit;
    ImGui::NewLine();
    Muted("computed " + FormatUtc(a.computed_at_ms) + " over exposures " + FormatUtc(a.from_ms) + " .. " + FormatUtc(a.to_ms));
    if (a.passed) {
      Badge(Tone::kGood, "PASSES");
      ImGui::SameLine();
      ImGui::TextUnformatted("no treatment check fails");
    } else {
      Badge(Tone::kBad, "FAILS");
      for (const std::string& f : a.failures) {
        ImGui::SameLine();
        ToneText(Tone::kBad, f);
      }
    }
    Muted("items grouped by " + a.item_grouping + "; users by " + a.user_grouping + "; " +
          (a.policy_reason.empty() ? std::string("no safety policy") : a.policy_reason));
    std::vector<const fairness::AuditCheck*> checks;
    for (const auto& side : a.arms) {
      for (const auto& c : side.checks) checks.push_back(&c);
    }
    if (checks.empty()) {
      EmptyState("The experiment declares no `audits:` thresholds.", "Add an `audits:` section to its definition to gate the ramp on them.");
      return;
    }
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
    if (!ImGui::BeginTable("checks", 5, flags)) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("side");
    ImGui::TableSetupColumn("check");
    ImGui::TableSetupColumn("threshold");
    ImGui::TableSetupColumn("value [95% CI]");
    ImGui::TableSetupColumn("status");
    ImGui::TableHeadersRow();
    for (const auto& side : a.arms) {
      for (const auto& c : side.checks) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(SideName(side).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(c.key.c_str());
        ImGui::TableNextColumn();
        ImGui::Text("%s %.3g", c.bound == experiment::AuditBound::kMax ? "<=" : ">=", c.threshold);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(FigureText(c.figure).c_str());
        ImGui::TableNextColumn();
        const Tone tone = c.status == fairness::CheckStatus::kPass ? Tone::kGood : c.status == fairness::CheckStatus::kFail ? Tone::kBad : Tone::kWarn;
        Badge(tone, fairness::CheckStatusName(c.status));
        if (!c.note.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", c.note.c_str());
      }
    }
    ImGui::EndTable();
  }

 private:
  std::set<std::string> requested_;
};

class SignOffPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Sign off or block the waiting step"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    const ExperimentView* e = snap.Find(state.selected);
    if (!e || !e->valid) {
      EmptyState("No experiment selected.", "Pick one with the selector at the top.");
      return;
    }
    const experiment::RolloutStatus& s = e->status;
    const std::string& reviewer = e->config.audits.reviewer_role;
    int waiting_step = -1;
    for (size_t i = static_cast<size_t>(std::max(0, s.step + 1)); i < e->config.ramp.size(); ++i) {
      if (!e->config.ramp[i].approval.empty()) {
        waiting_step = static_cast<int>(i);
        break;
      }
    }
    if (!s.waiting_for_role.empty()) {
      ImGui::TextColored(ToneColor(Tone::kWarn), "Step %d (%s) waits for role %s.", s.step + 2,
                         s.step + 1 < static_cast<int>(e->config.ramp.size()) ? FormatPercent(e->config.ramp[static_cast<size_t>(s.step + 1)].coverage, 0).c_str() : "-",
                         s.waiting_for_role.c_str());
    } else if (waiting_step >= 0) {
      ImGui::Text("Step %d (%s) will need role %s; nothing waits yet.", waiting_step + 1,
                  FormatPercent(e->config.ramp[static_cast<size_t>(waiting_step)].coverage, 0).c_str(),
                  e->config.ramp[static_cast<size_t>(waiting_step)].approval.c_str());
    } else {
      Muted("No remaining ramp step of '" + e->record.name + "' asks for a reviewer's approval (state " +
            experiment::RolloutStateName(s.state) + ").");
    }
    if (!s.blocked.empty()) ToneText(Tone::kBad, "Currently BLOCKED: " + s.blocked);
    if (reviewer.empty()) Muted("No `audits.reviewer_role`: a sign-off is recorded as evidence; a block still holds the ramp.");
    auto report = session.audit(e->record.name);
    ImGui::RadioButton("approve", &state.sign_off_decision, 0);
    state.Track("reviewer/approve");
    ImGui::SameLine();
    ImGui::RadioButton("block", &state.sign_off_decision, 1);
    state.Track("reviewer/block");
    if (report && !report->recorded_as_evidence) {
      ImGui::TextWrapped("Audit shown: %s", report->hash.c_str());
      Muted("Over HTTP the service computes a fresh audit at sign-off and records its hash; the result line shows it.");
    } else if (report) {
      ImGui::TextWrapped("Evidence recorded: audit %s", report->hash.c_str());
      Muted(std::string("definitions ") + fairness::kDefinitionsVersion + ", computed " + FormatUtc(report->audit.computed_at_ms) + ", " +
            (report->audit.passed ? "passes" : "fails"));
    } else {
      Muted("Compute the audit first: its hash is the evidence recorded.");
    }
    ImGui::BeginDisabled(!report);
    if (ImGui::Button("Sign off...")) {
      console::Action a;
      a.kind = console::ActionKind::kSignOff;
      a.experiment = e->record.name;
      a.approve = state.sign_off_decision == 0;
      a.evidence = report;
      state.Ask(std::move(a),
                std::string(state.sign_off_decision == 0 ? "APPROVE" : "BLOCK") + " the next step of '" + e->record.name + "'.\n" +
                    (report->recorded_as_evidence
                         ? "Evidence recorded in the audit log: audit " + report->hash + " (" + fairness::kDefinitionsVersion + ")"
                         : std::string("The service computes a fresh audit now and records its hash as the evidence.")),
                true);
    }
    state.Track("reviewer/sign-off");
    ImGui::EndDisabled();
    ImGui::Separator();
    ImGui::TextUnformatted("Sign-off history");
    int shown = 0;
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
    if (ImGui::BeginTable("signoffs", 4, flags)) {
      ImGui::TableSetupColumn("when");
      ImGui::TableSetupColumn("who");
      ImGui::TableSetupColumn("decision");
      ImGui::TableSetupColumn("reason");
      ImGui::TableHeadersRow();
      for (const auto& row : snap.sign_offs) {
        if (row.subject != e->record.name) continue;
        ++shown;
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(FormatUtc(row.ts_ms).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(row.actor.c_str());
        ImGui::TableNextColumn();
        const bool blocked = row.payload.find("\"block\"") != std::string::npos;
        Badge(blocked ? Tone::kBad : Tone::kGood, blocked ? "block" : "approve");
        ImGui::TableNextColumn();
        ImGui::TextWrapped("%s", row.reason.c_str());
      }
      ImGui::EndTable();
    }
    if (shown == 0) ImGui::TextDisabled("No sign-offs of '%s' yet.", e->record.name.c_str());
  }
};

class ExposureSharePanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Exposure share by item group vs target"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    auto report = ReportOrEmpty(snap, session, state, nullptr);
    if (!report) return;
    std::vector<IntervalBar> bars;
    double max_share = 0.0;
    size_t side_index = 0;
    for (const auto& side : report->audit.arms) {
      if (side.excluded) continue;
      for (size_t g = 0; g < side.item_groups.size() && g < side.exposure_share.size(); ++g) {
        IntervalBar b;
        b.label = SideName(side) + " / " + side.item_groups[g];
        b.value = side.exposure_share[g].value;
        b.low = side.exposure_share[g].ci_low;
        b.high = side.exposure_share[g].ci_high;
        b.target = g < side.target_share.size() ? side.target_share[g] : -1.0;
        b.color = SeriesColor(side_index);
        max_share = std::max({max_share, b.high, b.value, b.target});
        bars.push_back(std::move(b));
      }
      ++side_index;
    }
    if (bars.empty()) {
      EmptyState("No exposure shares: the audit found no lists.", "Send traffic to the experiment, then recompute the audit.");
      return;
    }
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    IntervalBars("share", bars, avail.x, avail.y, std::min(1.0, max_share * 1.1 + 0.01));
  }
};

class OverTimePanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Disparity and feedback-loop signals over time"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    auto report = ReportOrEmpty(snap, session, state, nullptr);
    if (!report) return;
    std::set<std::string> keys;
    for (const auto& w : report->audit.windows) {
      for (const auto& [k, v] : w.metrics) keys.insert(k);
    }
    if (keys.empty()) {
      EmptyState("No windows yet.", "The audit's windows need exposures over at least one window of event time.");
      return;
    }
    if (!keys.count(metric_)) metric_ = keys.count("exposure_disparity") ? "exposure_disparity" : *keys.begin();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 14);
    if (ImGui::BeginCombo("metric per window", metric_.c_str())) {
      for (const std::string& k : keys) {
        if (ImGui::Selectable(k.c_str(), k == metric_)) metric_ = k;
      }
      ImGui::EndCombo();
    }
    std::map<std::string, Series> by_side;
    for (const auto& w : report->audit.windows) {
      auto it = w.metrics.find(metric_);
      if (it == w.metrics.end()) continue;
      Series& s = by_side[w.arm];
      s.label = w.arm;
      s.x.push_back(static_cast<double>(w.start_ms));
      s.y.push_back(it->second);
    }
    std::vector<Series> series;
    for (auto& [name, s] : by_side) {
      s.color = SeriesColor(series.size());
      s.dashed = series.size() % 2 == 1;
      series.push_back(std::move(s));
    }
    PlotAxes axes;
    axes.y_label = metric_.c_str();
    axes.x_label = "window start (UTC)";
    axes.x_is_time = true;
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    LinePlot("windows", series, avail.x, avail.y, axes, "this metric has no values per window");
  }

 private:
  std::string metric_;
};

// Which block of the metrics table a metric belongs to.
const char* MetricGroup(const std::string& m) {
  if (m.find("policy") != std::string::npos || m.find("risk") != std::string::npos || m.find("safety") != std::string::npos) {
    return "safety and risk";
  }
  if (m == "homogenization" || m == "homogenization_windows" || m == "cross_user_similarity" || m.find("drift") != std::string::npos) {
    return "feedback loop";
  }
  if (m == "diversity_index" || m == "aplt" || m == "aclt" || m == "arp" || m == "pop_rsp" || m == "novelty" || m == "coverage") {
    return "diversity, popularity bias";
  }
  if (m.find("exposure") != std::string::npos || m == "gini") return "exposure fairness";
  return "outcomes and other";
}

class MetricsPanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Metrics per side, and the user-group frame"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    auto report = ReportOrEmpty(snap, session, state, nullptr);
    if (!report) return;
    const auto& sides = report->audit.arms;
    std::map<std::string, std::set<std::string>> groups;
    for (const auto& side : sides) {
      for (const auto& [k, f] : side.metrics) groups[MetricGroup(k)].insert(k);
    }
    if (ImGui::BeginTabBar("metric-tabs")) {
      if (ImGui::BeginTabItem("metrics")) {
        const int cols = static_cast<int>(sides.size()) + 1;
        const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
        if (ImGui::BeginTable("metrics", cols, flags)) {
          ImGui::TableSetupScrollFreeze(1, 1);
          ImGui::TableSetupColumn("metric [95% CI]", ImGuiTableColumnFlags_WidthFixed, ImGui::GetFontSize() * 13);
          for (const auto& side : sides) ImGui::TableSetupColumn(SideName(side).c_str());
          ImGui::TableHeadersRow();
          ImGui::TableNextRow();
          ImGui::TableNextColumn();
          ImGui::TextDisabled("lists / users");
          for (const auto& side : sides) {
            ImGui::TableNextColumn();
            ImGui::Text("%s / %s", FormatCount(side.exposures).c_str(), FormatCount(side.users).c_str());
          }
          for (const auto& [group, keys] : groups) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextColored(ToneColor(Tone::kInfo), "%s", group.c_str());
            for (const std::string& k : keys) {
              ImGui::TableNextRow();
              ImGui::TableNextColumn();
              ImGui::Text("  %s", k.c_str());
              for (const auto& side : sides) {
                ImGui::TableNextColumn();
                auto it = side.metrics.find(k);
                ImGui::TextUnformatted(it == side.metrics.end() ? "-" : FigureText(it->second).c_str());
              }
            }
          }
          ImGui::EndTable();
        }
        ImGui::EndTabItem();
      }
      if (ImGui::BeginTabItem("user groups")) {
        DrawUserGroups(sides);
        ImGui::EndTabItem();
      }
      ImGui::EndTabBar();
    }
  }

 private:
  static void DrawUserGroups(const std::vector<fairness::ArmAudit>& sides) {
    std::map<std::string, std::set<std::string>> dims;
    for (const auto& side : sides) {
      for (const auto& [dim, groups] : side.user_groups) {
        for (const auto& [g, v] : groups) dims[dim].insert(g);
      }
    }
    if (dims.empty()) {
      EmptyState("No user groups recorded.", "Declare `attributes:` in the experiment (e.g. [age_band]) so requests record them.");
      return;
    }
    const int cols = static_cast<int>(sides.size()) + 2;
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp;
    if (!ImGui::BeginTable("user-groups", cols, flags)) return;
    ImGui::TableSetupScrollFreeze(2, 1);
    ImGui::TableSetupColumn("dimension");
    ImGui::TableSetupColumn("group");
    for (const auto& side : sides) ImGui::TableSetupColumn((SideName(side) + ": CTR (lists)").c_str());
    ImGui::TableHeadersRow();
    for (const auto& [dim, groups] : dims) {
      for (const std::string& g : groups) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(dim.c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(g.c_str());
        for (const auto& side : sides) {
          ImGui::TableNextColumn();
          auto d = side.user_groups.find(dim);
          if (d == side.user_groups.end() || !d->second.count(g)) {
            ImGui::TextDisabled("-");
            continue;
          }
          const auto& [ctr, lists] = d->second.at(g);
          ImGui::Text("%.4f (%s)", ctr, FormatCount(lists).c_str());
        }
      }
    }
    ImGui::EndTable();
  }
};

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class ReviewSamplePanel final : public ConsolePanel {
 public:
  const char* title() const override { return "Human review sample"; }
  void Draw(const ConsoleSnapshot& snap, Session& session, ViewState& state) override {
    const ExperimentView* e = snap.Find(state.selected);
    if (!e) {
      EmptyState("No experiment selected.", "Pick one with the selector at the top.");
      return;
    }
    if (ImGui::Button("Draw 20 lists")) session.RequestSample(e->record.name, 20, seed_++);
    state.Track("reviewer/draw");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##note", "note for the label (optional)", state.label_note, sizeof state.label_note);
    auto sample = session.sample(e->record.name);
    if (!sample && requested_.insert(e->record.name).second) session.RequestSample(e->record.name, 20, seed_++);
    if (!sample) {
      EmptyState("No lists drawn yet.", "Press 'Draw 20 lists' for a seeded random sample of served lists to label.");
      return;
    }
    if (sample->empty()) {
      EmptyState("The experiment has no served lists.", "Send traffic first.");
      return;
    }
    ImGui::BeginChild("samples");
    for (const fairness::ReviewSample& s : *sample) {
      ImGui::PushID(static_cast<int>(s.request_id));
      ImGui::Text("request %lld", static_cast<long long>(s.request_id));
      ImGui::SameLine();
      ImGui::TextDisabled("arm %s, user %s, %s", s.arm.c_str(), s.user_key.c_str(), FormatUtc(s.ts_ms).c_str());
      std::string items;
      double max_risk = -1.0;
      for (const fairness::ReviewItem& i : s.items) {
        char buf[96];
        char risk[24] = "";
        if (i.risk >= 0) std::snprintf(risk, sizeof risk, ",r%.2f", i.risk);
        max_risk = std::max(max_risk, i.risk);
        std::snprintf(buf, sizeof buf, "%s#%lld(c%d,%s%s)%s", items.empty() ? "" : " ", static_cast<long long>(i.item_id), i.category,
                      i.group.c_str(), risk, i.clicked ? "*" : "");
        items += buf;
      }
      if (max_risk >= 0) {
        // The screen's verdicts on this list (blocked candidates, demotions) are in its stored record.
        const size_t blocks = CountOccurrences(s.safety, ",\"block\","), demotes = CountOccurrences(s.safety, ",\"demote\",");
        ImGui::TextColored(ToneColor(max_risk >= 0.2 ? Tone::kWarn : Tone::kInfo), "highest risk %.3f; screen blocked %zu, demoted %zu", max_risk,
                           blocks, demotes);
      }
      ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
      ImGui::TextWrapped("%s", items.c_str());
      ImGui::PopStyleColor();
      for (const char* label : fairness::kReviewLabels) {
        if (ImGui::SmallButton(label)) {
          console::Action a;
          a.kind = console::ActionKind::kLabel;
          a.experiment = e->record.name;
          a.request_id = s.request_id;
          a.label = label;
          a.note = state.label_note;
          a.actor = state.actor;
          session.Submit(std::move(a));
        }
        state.Track("reviewer/label/" + std::to_string(s.request_id) + "/" + label);
        ImGui::SameLine();
      }
      if (s.labels.empty()) {
        ImGui::TextDisabled("unlabelled");
      } else {
        ImGui::TextColored(ToneColor(Tone::kInfo), "%s", s.labels.back().c_str());
      }
      ImGui::Separator();
      ImGui::PopID();
    }
    ImGui::EndChild();
    ImGui::TextDisabled("* clicked; c = category; r = risk score at serving. Labels are recorded in the audit log.");
  }

 private:
  uint64_t seed_ = 1;
  std::set<std::string> requested_;  // drawn once automatically per experiment
};

}  // namespace

WorkspaceLayout MakeReviewerWorkspace() {
  WorkspaceLayout w{Workspace::kReviewer, {}};
  w.cells.push_back({std::make_unique<AuditPanel>(), 0.00f, 0.00f, 0.55f, 0.36f});
  w.cells.push_back({std::make_unique<SignOffPanel>(), 0.55f, 0.00f, 0.45f, 0.36f});
  w.cells.push_back({std::make_unique<ExposureSharePanel>(), 0.00f, 0.36f, 0.34f, 0.30f});
  w.cells.push_back({std::make_unique<OverTimePanel>(), 0.34f, 0.36f, 0.33f, 0.30f});
  w.cells.push_back({std::make_unique<ReviewSamplePanel>(), 0.67f, 0.36f, 0.33f, 0.64f});
  w.cells.push_back({std::make_unique<MetricsPanel>(), 0.00f, 0.66f, 0.67f, 0.34f});
  return w;
}

}  // namespace steward::gui
