#include "gui/console_view.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "gui/widgets.h"

namespace steward::gui {

const char* WorkspaceName(Workspace w) {
  switch (w) {
    case Workspace::kOwner: return "Experiment owner";
    case Workspace::kReviewer: return "Responsible-AI reviewer";
    case Workspace::kOncall: return "On-call";
  }
  return "?";
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatPercent(double fraction, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", decimals, 100.0 * fraction);
  return buf;
}

std::string FormatUtc(int64_t ms) {
  if (ms <= 0) return "never";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string FormatDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t s = ms / 1000, m = s / 60, h = m / 60, d = h / 24;
  char buf[32];
  if (d > 0) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "d %" PRId64 "h", d, h % 24);
  } else if (h > 0) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "h %" PRId64 "m", h, m % 60);
  } else if (m > 0) {
    std::snprintf(buf, sizeof buf, "%" PRId64 "m", m);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRId64 "s", s);
  }
  return buf;
}

ImVec4 ToneColor(Tone tone) {
  switch (tone) {
    case Tone::kGood: return ImVec4(0.40f, 0.85f, 0.50f, 1.0f);
    case Tone::kWarn: return ImVec4(1.00f, 0.78f, 0.30f, 1.0f);
    case Tone::kBad: return ImVec4(1.00f, 0.42f, 0.38f, 1.0f);
    case Tone::kInfo: return ImVec4(0.55f, 0.75f, 1.00f, 1.0f);
    case Tone::kMuted: return ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled);
  }
  return ImVec4(1, 1, 1, 1);
}

void Badge(Tone tone, const char* word) { ImGui::TextColored(ToneColor(tone), "[%s]", word); }

void ToneText(Tone tone, const std::string& text) {
  ImGui::PushStyleColor(ImGuiCol_Text, ToneColor(tone));
  ImGui::TextWrapped("%s", text.c_str());
  ImGui::PopStyleColor();
}

void Muted(const std::string& text) {
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", text.c_str());
  ImGui::PopStyleColor();
}

void EmptyState(const std::string& what, const std::string& todo) {
  ImGui::TextDisabled("%s", what.c_str());
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("%s", todo.c_str());
  ImGui::PopStyleColor();
}

void KeyValue(const char* key, const std::string& value) {
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  ImGui::TextDisabled("%s", key);
  ImGui::TableNextColumn();
  ImGui::TextWrapped("%s", value.c_str());
}

void CellRight(const std::string& text) {
  const float w = ImGui::CalcTextSize(text.c_str()).x;
  const float avail = ImGui::GetContentRegionAvail().x;
  if (avail > w) ImGui::SetCursorPosX(ImGui::GetCursorPosX() + avail - w);
  ImGui::TextUnformatted(text.c_str());
}

void ViewState::Ask(console::Action action, std::string prompt, bool reason_required_) {
  pending = std::move(action);
  pending_prompt = std::move(prompt);
  reason_required = reason_required_;
  reason[0] = '\0';
  dialog_error.clear();
  confirm_open = true;
}

void ViewState::Track(const std::string& key) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  rects[key] = ControlRect{a.x, a.y, b.x, b.y};
}

ConsoleView::ConsoleView(console::Session& session) : session_(session) {
  workspaces_.push_back(MakeOwnerWorkspace());
  workspaces_.push_back(MakeReviewerWorkspace());
  workspaces_.push_back(MakeOncallWorkspace());
  switch (session.role()) {
    case console::ConsoleRole::kReviewer: state_.workspace = Workspace::kReviewer; break;
    case console::ConsoleRole::kOncall: state_.workspace = Workspace::kOncall; break;
    default: state_.workspace = Workspace::kOwner; break;
  }
  if (const char* user = std::getenv("USER")) std::snprintf(state_.actor, sizeof state_.actor, "%s", user);
}

void ConsoleView::DrainResults() {
  for (console::TaskResult& r : session_.TakeResults()) {
    std::string text = r.status.ok() ? r.message
                                     : (console::IsForbidden(r.status) ? "REFUSED: " + r.title + ": " + r.message.substr(11)
                                                                       : "FAILED: " + r.title + ": " + r.message);
    state_.messages.emplace_back(r.status.ok(), std::move(text));
  }
  if (state_.messages.size() > 20) state_.messages.erase(state_.messages.begin(), state_.messages.end() - 20);
}

void ConsoleView::DrawTopBar(const console::ConsoleSnapshot& snap) {
  const float em = ImGui::GetFontSize();
  ImGui::TextUnformatted("Steward console");
  ImGui::SameLine();
  ImGui::TextDisabled("%s", snap.source.c_str());
  ImGui::SameLine(0, em);
  ImGui::Text("role:");
  ImGui::SameLine();
  const console::ConsoleRole role = session_.role();
  Badge(role == console::ConsoleRole::kViewer ? Tone::kMuted : Tone::kInfo, console::ConsoleRoleName(role));
  ImGui::SameLine(0, em);
  ImGui::Text("experiment:");
  ImGui::SameLine();
  if (state_.selected.empty() && !snap.experiments.empty()) state_.selected = snap.experiments.front().record.name;
  ImGui::SetNextItemWidth(12 * em);
  if (ImGui::BeginCombo("##experiment", state_.selected.empty() ? "(none)" : state_.selected.c_str())) {
    for (const auto& e : snap.experiments) {
      if (ImGui::Selectable(e.record.name.c_str(), e.record.name == state_.selected)) state_.selected = e.record.name;
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine(0, em);
  ImGui::Text("actor:");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(8 * em);
  ImGui::InputText("##actor", state_.actor, sizeof state_.actor);
  state_.Track("actor");
  ImGui::SameLine(0, em);
  if (snap.kill_switch) {
    Badge(Tone::kBad, "KILL SWITCH ON");
    ImGui::SameLine();
  }
  if (snap.taken_at_ms == 0) {
    ImGui::TextDisabled(snap.error.empty() ? "loading..." : "not read yet");
  } else {
    ImGui::TextDisabled("refreshed %s (%.0f ms)", FormatUtc(snap.taken_at_ms).c_str(), snap.refresh_ms);
  }
  const std::string busy = session_.busy();
  if (!busy.empty()) {
    ImGui::SameLine(0, em);
    ImGui::TextColored(ToneColor(Tone::kInfo), "working: %s...", busy.c_str());
  }
  // One status line of fixed height, so the layout never moves under the pointer: a failed
  // refresh first, else the newest action's result, else what to do.
  auto one_line = [](Tone tone, const std::string& text) {
    ImGui::TextColored(ToneColor(tone), "%s", text.substr(0, text.find('\n')).c_str());
    if (ImGui::IsItemHovered() && text.size() > 80) ImGui::SetTooltip("%s", text.c_str());
  };
  if (!snap.error.empty()) {
    one_line(Tone::kBad, "Refresh failed (showing the last good data): " + snap.error);
  } else if (!state_.messages.empty()) {
    const auto& [ok, text] = state_.messages.back();
    one_line(ok ? Tone::kGood : Tone::kBad, text);
  } else if (session_.role() == console::ConsoleRole::kViewer) {
    one_line(Tone::kMuted, "Read-only: start the console with --role owner|reviewer|oncall to act.");
  } else {
    one_line(Tone::kMuted, "Actions ask for confirmation and run in the background; results show here.");
  }
}

void ConsoleView::DrawDialog(const console::ConsoleSnapshot& snap) {
  (void)snap;
  if (state_.confirm_open && !ImGui::IsPopupOpen("Confirm action")) ImGui::OpenPopup("Confirm action");
  const float em = ImGui::GetFontSize();
  ImGui::SetNextWindowSize(ImVec2(34 * em, 0), ImGuiCond_Always);
  if (!ImGui::BeginPopupModal("Confirm action", nullptr, ImGuiWindowFlags_NoResize)) return;
  ImGui::TextWrapped("%s", state_.pending_prompt.c_str());
  ImGui::Separator();
  const bool remote = session_.source().name().rfind("http", 0) == 0;
  ImGui::Text(remote ? "actor (over HTTP the service records the token's name)" : "actor (recorded in the audit log)");
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##dialog-actor", state_.actor, sizeof state_.actor);
  state_.Track("dialog/actor");
  ImGui::Text("reason%s", state_.reason_required ? " (required)" : " (optional)");
  ImGui::SetNextItemWidth(-1);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool enter = ImGui::InputText("##dialog-reason", state_.reason, sizeof state_.reason, ImGuiInputTextFlags_EnterReturnsTrue);
  state_.Track("dialog/reason");
  if (state_.actor[0] == '\0') ToneText(Tone::kWarn, "actor: required: who is acting");
  if (state_.reason_required && state_.reason[0] == '\0') ToneText(Tone::kWarn, "reason: required: say why");
  if (!state_.dialog_error.empty()) ToneText(Tone::kBad, state_.dialog_error);
  const bool ready = state_.actor[0] != '\0' && (!state_.reason_required || state_.reason[0] != '\0');
  ImGui::BeginDisabled(!ready);
  const bool confirm = ImGui::Button("Confirm", ImVec2(8 * em, 0));
  state_.Track("dialog/confirm");
  ImGui::EndDisabled();
  ImGui::SameLine();
  const bool cancel = ImGui::Button("Cancel", ImVec2(8 * em, 0)) || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape));
  state_.Track("dialog/cancel");
  if ((confirm || enter) && ready) {
    console::Action action = state_.pending;
    action.actor = state_.actor;
    action.reason = state_.reason;
    session_.Submit(std::move(action));
    state_.confirm_open = false;
    ImGui::CloseCurrentPopup();
  } else if (cancel) {
    state_.confirm_open = false;
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
}

void ConsoleView::Draw(float display_w, float display_h) {
  DrainResults();
  state_.rects.clear();
  const std::shared_ptr<const console::ConsoleSnapshot> snap = session_.snapshot();
  // Over HTTP the role arrives with the first refresh (the token's): open its workspace then.
  if (session_.role() != shown_role_) {
    shown_role_ = session_.role();
    if (shown_role_ == console::ConsoleRole::kReviewer) state_.workspace = Workspace::kReviewer;
    if (shown_role_ == console::ConsoleRole::kOncall) state_.workspace = Workspace::kOncall;
    if (shown_role_ == console::ConsoleRole::kOwner) state_.workspace = Workspace::kOwner;
    state_.select_tab = true;
  }
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::SetNextWindowPos(ImVec2(0, 0), ImGuiCond_Always);
  ImGui::SetNextWindowSize(ImVec2(display_w, display_h), ImGuiCond_Always);
  ImGui::Begin("Steward console", nullptr, flags);
  DrawTopBar(*snap);
  if (ImGui::BeginTabBar("workspaces")) {
    for (WorkspaceLayout& ws : workspaces_) {
      const ImGuiTabItemFlags tab_flags = state_.select_tab && ws.kind == state_.workspace ? ImGuiTabItemFlags_SetSelected : 0;
      const bool open = ImGui::BeginTabItem(WorkspaceName(ws.kind), nullptr, tab_flags);
      state_.Track(std::string("tab/") + WorkspaceName(ws.kind));
      if (!open) continue;
      if (!state_.select_tab) state_.workspace = ws.kind;
      const ImVec2 origin = ImGui::GetCursorPos();
      const ImVec2 avail = ImGui::GetContentRegionAvail();
      const float gap = ImGui::GetStyle().ItemSpacing.x;
      for (PanelCell& cell : ws.cells) {
        ImGui::SetCursorPos(ImVec2(origin.x + cell.x * avail.x, origin.y + cell.y * avail.y));
        const ImVec2 size(cell.w * avail.x - (cell.x + cell.w < 0.999f ? gap : 0.0f), cell.h * avail.y - (cell.y + cell.h < 0.999f ? gap : 0.0f));
        ImGui::BeginChild(cell.panel->title(), size, true);
        ImGui::TextColored(ToneColor(Tone::kInfo), "%s", cell.panel->title());
        ImGui::Separator();
        cell.panel->Draw(*snap, session_, state_);
        ImGui::EndChild();
      }
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  state_.select_tab = false;
  DrawDialog(*snap);
  ImGui::End();
}

}  // namespace steward::gui
