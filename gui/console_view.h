// The console: three workspaces (experiment owner, responsible-AI reviewer, on-call), each a set of
// panels drawn from the session's latest snapshot. Actions are confirmed in a modal dialog and
// posted to the session's worker; their results show in the status line. Only the UI thread calls
// Draw().
#pragma once

#include <imgui.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "console/session.h"

namespace steward::gui {

// A control's screen rectangle (pixels).
struct ControlRect {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

enum class Workspace { kOwner = 0, kReviewer = 1, kOncall = 2 };
const char* WorkspaceName(Workspace w);  // "Experiment owner", ...

// UI state shared by the panels of all workspaces (selection, dialog, messages, form buffers).
struct ViewState {
  std::string selected;  // experiment name
  Workspace workspace = Workspace::kOwner;
  bool select_tab = true;  // make `workspace` the active tab on the next frame
  char actor[64] = {};
  // The action waiting for confirmation in the dialog.
  bool confirm_open = false;
  console::Action pending;
  std::string pending_prompt;
  char reason[256] = {};
  bool reason_required = false;
  std::string dialog_error;
  // Status line: the newest results (ok, text).
  std::vector<std::pair<bool, std::string>> messages;
  // Owner forms.
  char definition_path[512] = {};
  std::string definition_error;  // the validation error of the file, shown at the field
  std::string definition_ok;
  std::vector<std::array<char, 16>> ramp_coverage;  // ramp editor: coverage per step, as typed
  std::string ramp_for;                              // experiment the editor was loaded from
  double power_baseline = 0.0, power_mde = 0.05, power_alpha = 0.05, power = 0.8;
  // Reviewer forms.
  int sign_off_decision = 0;  // 0 approve, 1 block
  char label_note[256] = {};
  // Screen rectangles of the controls drawn this frame, by key (for headless tests).
  std::map<std::string, ControlRect> rects;

  // Opens the confirmation dialog for `action`.
  void Ask(console::Action action, std::string prompt, bool reason_required_);
  // Records the last drawn item's rectangle under `key`.
  void Track(const std::string& key);
};

class ConsolePanel {
 public:
  virtual ~ConsolePanel() = default;
  virtual const char* title() const = 0;
  virtual void Draw(const console::ConsoleSnapshot& snap, console::Session& session, ViewState& state) = 0;
};

// A workspace: panels laid out in a grid of cells (fractions of the content area).
struct PanelCell {
  std::unique_ptr<ConsolePanel> panel;
  float x, y, w, h;
};
struct WorkspaceLayout {
  Workspace kind;
  std::vector<PanelCell> cells;
};

WorkspaceLayout MakeOwnerWorkspace();
WorkspaceLayout MakeReviewerWorkspace();
WorkspaceLayout MakeOncallWorkspace();

class ConsoleView {
 public:
  // `session` must outlive the view.
  explicit ConsoleView(console::Session& session);
  // Draws the whole console into a display of the given size (pixels).
  void Draw(float display_w, float display_h);
  ViewState& state() { return state_; }
  const std::vector<WorkspaceLayout>& workspaces() const { return workspaces_; }

 private:
  void DrawTopBar(const console::ConsoleSnapshot& snap);
  void DrawDialog(const console::ConsoleSnapshot& snap);
  void DrainResults();

  console::Session& session_;
  console::ConsoleRole shown_role_ = console::ConsoleRole::kViewer;
  ViewState state_;
  std::vector<WorkspaceLayout> workspaces_;
};

// Formatting shared by the panels: one unit style everywhere.
std::string FormatCount(int64_t n);           // 1,234,567
std::string FormatPercent(double fraction, int decimals = 1);  // 12.3%
std::string FormatUtc(int64_t ms);            // 2026-01-02 03:04 UTC
std::string FormatDuration(int64_t ms);       // 2d 4h, 35m, 12s

}  // namespace steward::gui
