// Draws every workspace of the console in a headless ImGui context (no window, no GL) from a real
// database, and drives its actions with mouse and keyboard events: rollback with a reason,
// sign-off, promote, a refusal for the wrong role.
#include <gtest/gtest.h>
#include <imgui.h>
#include <imgui_internal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "console/session.h"
#include "gui/console_view.h"
#include "gui/dashboard.h"
#include "storage/audit_log.h"
#include "tests/console/fixture.h"

namespace steward::gui {
namespace {

using testing_console::MakeGovernedDatabase;

// A headless ImGui context with the console drawn at 1600x1000.
class Headless {
 public:
  explicit Headless(console::Session& session, float w = 1600, float h = 1000) {
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = ImVec2(w, h);
    unsigned char* pixels = nullptr;
    int tw = 0, th = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &tw, &th);
    for (int k = 0; k < ImGuiKey_COUNT; ++k) io.KeyMap[k] = k;  // ImGui 1.86: key indices
    view_ = std::make_unique<ConsoleView>(session);
    view_->state().actor[0] = '\0';  // $USER prefills it; the tests type the actor themselves
    Frame(2);  // tab bars lay out their tabs at the end of the first frame
  }
  ~Headless() {
    view_.reset();
    ImGui::DestroyContext();
  }
  ConsoleView& view() { return *view_; }
  void Frame(int n = 1) {
    for (int i = 0; i < n; ++i) {
      ImGuiIO& io = ImGui::GetIO();
      io.DeltaTime = 1.0f / 60.0f;
      ImGui::NewFrame();
      view_->Draw(io.DisplaySize.x, io.DisplaySize.y);
      ImGui::Render();
    }
  }
  // Moves the mouse onto the control drawn under `key` and clicks it.
  void Click(const std::string& key) {
    Frame(2);  // the layout settles (a new snapshot or result may have arrived)
    auto it = view_->state().rects.find(key);
    ASSERT_NE(it, view_->state().rects.end()) << "no control '" << key << "' on screen";
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2((it->second.x0 + it->second.x1) * 0.5f, (it->second.y0 + it->second.y1) * 0.5f);
    Frame();
    io.MouseDown[0] = true;
    Frame();
    io.MouseDown[0] = false;
    Frame();
  }
  // Clicks a text field and types into it (keyboard characters).
  void Type(const std::string& key, const char* text) {
    Click(key);
    ImGui::GetIO().AddInputCharactersUTF8(text);
    Frame();
  }
  void Press(ImGuiKey_ key) {
    ImGuiIO& io = ImGui::GetIO();
    io.KeysDown[key] = true;
    Frame();
    io.KeysDown[key] = false;
    Frame();
  }
  void PressEnter() { Press(ImGuiKey_Enter); }

 private:
  std::unique_ptr<ConsoleView> view_;
};

std::unique_ptr<console::Session> Open(const std::string& path, console::ConsoleRole role) {
  console::LocalSourceOptions o;
  o.db_path = path;
  o.role = role;
  o.audit_bootstrap = 20;
  auto session = std::make_unique<console::Session>(console::MakeLocalSource(o), 20);
  session->WaitFirstRefresh();
  // Wait for a snapshot that read the database (a first refresh may race the fixture's writes).
  const auto start = std::chrono::steady_clock::now();
  while (session->snapshot()->taken_at_ms == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(session->snapshot()->error.empty()) << session->snapshot()->error;
  return session;
}

storage::AuditEntry NewestAuditRow(const std::string& path) {
  auto db = storage::Database::Open(path).value();
  return storage::AuditLog(*db).Recent(1).value().front();
}

experiment::RolloutStatus StatusOf(const std::string& path) {
  auto db = storage::Database::Open(path).value();
  return serving::RolloutController(*db, SystemClock::Default()).Status("gov").value();
}

TEST(ConsoleView, EveryWorkspaceDrawsEveryPanel) {
  const std::string path = MakeGovernedDatabase("draw");
  auto session = Open(path, console::ConsoleRole::kReviewer);
  Headless ui(*session);
  for (const char* tab : {"Experiment owner", "Responsible-AI reviewer", "On-call"}) {
    ui.Click(std::string("tab/") + tab);
    session->WaitIdle();  // the reviewer's audit and sample
    ui.Frame(3);
    const WorkspaceLayout* ws = nullptr;
    for (const auto& w : ui.view().workspaces()) {
      if (std::strcmp(WorkspaceName(w.kind), tab) == 0) ws = &w;
    }
    ASSERT_NE(ws, nullptr);
    EXPECT_EQ(ui.view().state().workspace, ws->kind) << tab;
    for (const PanelCell& cell : ws->cells) {
      // Child windows are named "<parent>/<title>_<id>"; find the panel's by its title.
      bool drawn = false;
      for (ImGuiWindow* window : ImGui::GetCurrentContext()->Windows) {
        if (std::strstr(window->Name, cell.panel->title()) && window->WasActive && window->DrawList->VtxBuffer.Size > 0) drawn = true;
      }
      EXPECT_TRUE(drawn) << tab << ": " << cell.panel->title();
    }
  }
  ASSERT_NE(session->audit("gov"), nullptr);  // the reviewer workspace asked for the audit
  ASSERT_NE(session->sample("gov"), nullptr);
}

TEST(ConsoleView, AnEmptyDatabaseDrawsEmptyStates) {
  const std::string path = ::testing::TempDir() + "/console-empty.db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  { auto db = storage::Database::Open(path).value(); }
  auto session = Open(path, console::ConsoleRole::kOwner);
  Headless ui(*session, 1280, 800);
  for (const char* tab : {"Experiment owner", "Responsible-AI reviewer", "On-call"}) {
    ui.Click(std::string("tab/") + tab);
    ui.Frame(2);
  }
  EXPECT_TRUE(session->snapshot()->experiments.empty());
  EXPECT_EQ(ui.view().state().rects.count("owner/start"), 0u);  // no experiment, no action buttons
}

TEST(ConsoleView, OncallRollsBackWithAReasonTypedAndEnter) {
  const std::string path = MakeGovernedDatabase("rollback");
  auto session = Open(path, console::ConsoleRole::kOncall);
  Headless ui(*session);
  ui.Frame(2);
  EXPECT_EQ(ui.view().state().workspace, Workspace::kOncall);
  ui.Click("oncall/rollback/gov");
  ui.Frame(2);
  ASSERT_TRUE(ui.view().state().confirm_open);
  ui.Type("dialog/actor", "pager-7");
  // Without a reason the Confirm button does nothing.
  ui.Click("dialog/confirm");
  session->WaitIdle();
  EXPECT_EQ(StatusOf(path).state, experiment::RolloutState::kRamping);
  EXPECT_TRUE(ui.view().state().confirm_open);
  ui.Type("dialog/reason", "p99 latency doubled");
  ui.PressEnter();
  session->WaitIdle();
  EXPECT_FALSE(ui.view().state().confirm_open);
  EXPECT_EQ(StatusOf(path).state, experiment::RolloutState::kRolledBack);
  const storage::AuditEntry row = NewestAuditRow(path);
  EXPECT_EQ(row.action, "experiment.rollback");
  EXPECT_EQ(row.actor, "pager-7");
  EXPECT_EQ(row.reason, "p99 latency doubled");
  ui.Frame();
  ASSERT_FALSE(ui.view().state().messages.empty());
  EXPECT_TRUE(ui.view().state().messages.back().first) << ui.view().state().messages.back().second;
}

TEST(ConsoleView, ReviewerSignsOffWithTheHashShown) {
  const std::string path = MakeGovernedDatabase("signoff");
  {  // at step 2, the next step waits for the reviewer
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(serving::RolloutController(*db, SystemClock::Default()).Promote("gov", "test", "to step 2").ok());
  }
  auto session = Open(path, console::ConsoleRole::kReviewer);
  Headless ui(*session);
  ui.Frame(2);
  session->WaitIdle();  // the audit the workspace requested
  auto report = session->audit("gov");
  ASSERT_NE(report, nullptr);
  ui.Frame(2);
  ui.Click("reviewer/sign-off");
  ui.Frame(2);
  ASSERT_TRUE(ui.view().state().confirm_open);
  EXPECT_NE(ui.view().state().pending_prompt.find(report->hash), std::string::npos);  // the evidence is shown
  ui.Type("dialog/actor", "rai-lead");
  ui.Type("dialog/reason", "tail exposure within target");
  ui.Click("dialog/confirm");
  session->WaitIdle();
  const storage::AuditEntry row = NewestAuditRow(path);
  EXPECT_EQ(row.action, "audit.signoff");
  EXPECT_EQ(row.actor, "rai-lead");
  EXPECT_NE(row.payload.find(report->hash), std::string::npos) << row.payload;
  const auto status = StatusOf(path);
  EXPECT_NE(std::find(status.approvals.begin(), status.approvals.end(), "rai-reviewer"), status.approvals.end());
}

TEST(ConsoleView, OncallTurnsTheKillSwitchOn) {
  const std::string path = MakeGovernedDatabase("kill");
  auto session = Open(path, console::ConsoleRole::kOncall);
  Headless ui(*session);
  ui.Click("oncall/kill");
  ui.Frame(2);
  ui.Type("dialog/actor", "pager-7");
  ui.Type("dialog/reason", "incident 7");
  ui.Click("dialog/confirm");
  session->WaitIdle();
  auto db = storage::Database::Open(path).value();
  EXPECT_TRUE(serving::RolloutController(*db, SystemClock::Default()).KillSwitch().value());
  // Audited, with the live experiment it rolled back.
  bool audited = false;
  const std::vector<storage::AuditEntry> rows = storage::AuditLog(*db).Recent(5).value();
  for (const auto& row : rows) {
    if (row.action == "kill_switch.on" && row.actor == "pager-7" && row.reason == "incident 7") audited = true;
  }
  EXPECT_TRUE(audited);
  EXPECT_EQ(StatusOf(path).state, experiment::RolloutState::kRolledBack);
}

TEST(ConsoleView, ReviewerLabelsASampledList) {
  const std::string path = MakeGovernedDatabase("label");
  auto session = Open(path, console::ConsoleRole::kReviewer);
  Headless ui(*session);
  session->WaitIdle();  // the sample the workspace draws when it first shows the experiment
  auto sample = session->sample("gov");
  ASSERT_NE(sample, nullptr);
  ASSERT_FALSE(sample->empty());
  const int64_t request = sample->front().request_id;
  ui.Type("actor", "rai-lead");  // a label takes the actor from the field at the top
  ui.Click("reviewer/label/" + std::to_string(request) + "/concern");
  session->WaitIdle();
  const storage::AuditEntry row = NewestAuditRow(path);
  EXPECT_EQ(row.action, "audit.label");
  EXPECT_EQ(row.actor, "rai-lead");
}

TEST(ConsoleView, OwnerPromotes) {
  const std::string path = MakeGovernedDatabase("promote");
  auto session = Open(path, console::ConsoleRole::kOwner);
  Headless ui(*session);
  ui.Frame(2);
  ASSERT_EQ(StatusOf(path).step, 0);
  ui.Click("owner/promote");
  ui.Frame(2);
  ui.Type("dialog/actor", "owner-1");
  ui.Type("dialog/reason", "enough evidence");
  ui.Click("dialog/confirm");
  session->WaitIdle();
  EXPECT_EQ(StatusOf(path).step, 1);
  EXPECT_EQ(NewestAuditRow(path).action, "experiment.promote");
}

TEST(ConsoleView, OwnerEditsTheRampAsANewVersionWithTheDiff) {
  const std::string path = MakeGovernedDatabase("ramp");
  auto session = Open(path, console::ConsoleRole::kOwner);
  Headless ui(*session);
  ui.Click("owner/ramp/1");  // step 2: 25%
  ui.Press(ImGuiKey_End);
  ui.Press(ImGuiKey_Backspace);
  ui.Press(ImGuiKey_Backspace);
  ImGui::GetIO().AddInputCharactersUTF8("30");
  ui.Frame(2);
  ui.Click("owner/save-ramp");
  ui.Frame(2);
  ASSERT_TRUE(ui.view().state().confirm_open);
  EXPECT_NE(ui.view().state().pending_prompt.find("step 2: coverage 25% -> 30%"), std::string::npos) << ui.view().state().pending_prompt;
  ui.Type("dialog/actor", "owner-1");
  ui.Type("dialog/reason", "slower ramp");
  ui.Click("dialog/confirm");
  session->WaitIdle();
  // The ramp names an approval role, so the new version of the live experiment is a proposal.
  const auto status = StatusOf(path);
  EXPECT_EQ(status.pending_version, 2);
  EXPECT_EQ(NewestAuditRow(path).action, "experiment.propose");
}

TEST(ConsoleView, TheWrongRoleIsRefusedWithAClearMessage) {
  const std::string path = MakeGovernedDatabase("wrong-role");
  auto session = Open(path, console::ConsoleRole::kOncall);
  Headless ui(*session);
  ui.Click("tab/Experiment owner");
  const int64_t before = NewestAuditRow(path).seq;
  ui.Click("owner/promote");
  ui.Frame(2);
  ui.Type("dialog/actor", "pager-7");
  ui.Type("dialog/reason", "trying");
  ui.Click("dialog/confirm");
  session->WaitIdle();
  ui.Frame();
  EXPECT_EQ(NewestAuditRow(path).seq, before);  // nothing happened
  EXPECT_EQ(StatusOf(path).step, 0);
  ASSERT_FALSE(ui.view().state().messages.empty());
  const auto& [ok, text] = ui.view().state().messages.back();
  EXPECT_FALSE(ok);
  EXPECT_NE(text.find("REFUSED"), std::string::npos) << text;
  EXPECT_NE(text.find("owner or admin"), std::string::npos) << text;
}

TEST(ConsoleView, ValidationErrorsShowAtTheField) {
  const std::string path = MakeGovernedDatabase("validate");
  const std::string bad = ::testing::TempDir() + "/bad-experiment.yaml";
  std::ofstream(bad) << "name: x\narms:\n  - {name: a, model: m, weight: 0.5}\n  - {name: b, model: m, weight: 0.5}\nramp:\n  - {coverage: 1.5}\n";
  auto session = Open(path, console::ConsoleRole::kOwner);
  Headless ui(*session);
  ui.Type("owner/definition", bad.c_str());
  ui.Click("owner/validate");
  session->WaitIdle();
  auto checked = session->validation(bad);
  ASSERT_TRUE(checked.has_value());
  ASSERT_FALSE(checked->ok());
  const console::FieldError fe = console::ParseFieldError(checked->status().message());
  EXPECT_EQ(fe.field.rfind("ramp[0]", 0), 0u) << checked->status().message();
  EXPECT_GT(fe.line, 0) << checked->status().message();
}

TEST(FrameStats, JsonLine) {
  EXPECT_EQ(FrameStatsJson({1, 2, 3, 4}, {900, 10, 20}),
            "{\"frames\": 4, \"frame_ms_p50\": 2.000, \"frame_ms_p99\": 4.000, \"refresh_ms_p99\": 20.000, \"refreshes\": 2, "
            "\"initial_load_ms\": 900.000}");
  EXPECT_EQ(FrameStatsJson({}, {}),
            "{\"frames\": 0, \"frame_ms_p50\": 0.000, \"frame_ms_p99\": 0.000, \"refresh_ms_p99\": 0.000, \"refreshes\": 0, "
            "\"initial_load_ms\": 0.000}");
}

TEST(Png, WritesAValidFile) {
  const std::string path = ::testing::TempDir() + "/tiny.png";
  std::vector<unsigned char> rgba(4 * 2 * 4, 200);  // 4x2 RGBA
  ASSERT_TRUE(WritePng(path, 4, 2, rgba.data()).ok());
  std::ifstream in(path, std::ios::binary);
  char sig[8];
  in.read(sig, 8);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
  EXPECT_FALSE(WritePng("/nonexistent/dir/x.png", 1, 1, rgba.data()).ok());
}

TEST(Dashboard, MissingDatabaseIsAClearError) {
  DashboardOptions options;
  options.db_path = "/nonexistent/steward.db";
  Status s = RunDashboard(options);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("steward demo --db"), std::string::npos);
}

TEST(Dashboard, AnUnknownRoleIsRefused) {
  const std::string path = MakeGovernedDatabase("role");
  DashboardOptions options;
  options.db_path = path;
  options.role = "root";
  EXPECT_EQ(RunDashboard(options).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::gui
