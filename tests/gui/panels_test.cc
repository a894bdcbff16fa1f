// Draws every registered panel in a headless ImGui context (no window, no GL) from a snapshot
// loaded from a real database.
#include <gtest/gtest.h>
#include <imgui.h>
#include <imgui_internal.h>
#include <unistd.h>

#include <filesystem>
#include <chrono>
#include <thread>
#include <fstream>

#include "gui/dashboard.h"
#include "gui/panels.h"
#include "gui/snapshot.h"
#include "storage/audit_log.h"
#include "storage/event_writer.h"
#include "storage/experiment_store.h"
#include "common/clock.h"
#include "serving/controller.h"

namespace steward::gui {
namespace {

std::string MakeDatabase() {
  const std::string path = testing::TempDir() + "/gui-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  {
    auto db = storage::Database::Open(path).value();
    storage::ExperimentStore(*db).SaveVersion("homepage", "{}", "test", 1, "ramping").value();
    storage::AuditLog(*db).Append({0, 1, "test", "experiment.version", "homepage", "created", "{\"version\": 1}"}).value();
  }
  auto writer = storage::EventWriter::Start(path).value();
  for (int r = 1; r <= 200; ++r) {
    storage::Exposure e;
    e.request_id = r;
    e.ts_ms = 1767225600000 + r * 600000;  // every 10 minutes
    e.user_id = r % 17;
    e.experiment = "homepage";
    e.arm = r % 2 ? "control" : "treatment";
    e.served = {{1, 1.0}, {2, 1.0}};
    e.model_version = "baseline@1";
    EXPECT_TRUE(writer->Submit(e).ok());
    if (r % 3 == 0) {
      EXPECT_TRUE(writer->Submit(storage::Feedback{r, e.ts_ms + 1, e.user_id, 1, 1, storage::FeedbackKind::kClick, 1}).ok());
    }
  }
  EXPECT_TRUE(writer->Close().ok());
  return path;
}

TEST(Snapshot, LoadsCountsFromTheDatabase) {
  auto snap = LoadSnapshot(MakeDatabase());
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->experiments.size(), 1u);
  EXPECT_EQ(snap->experiments[0].state, "ramping");
  ASSERT_EQ(snap->arms.size(), 2u);
  EXPECT_EQ(snap->arms[0].arm, "control");
  EXPECT_EQ(snap->arms[0].exposures, 100);
  EXPECT_EQ(snap->arms[0].clicks + snap->arms[1].clicks, 66);
  EXPECT_EQ(snap->totals.audit_rows, 1);
  EXPECT_TRUE(snap->audit_chain_ok);
  EXPECT_FALSE(snap->timeline.empty());
}

// Regression (#15 item 9): the dashboard showed a green "audit chain intact" on an audit-less
// database, and reloaded everything every 500 ms on an idle one (79% of a core).
TEST(Snapshot, AnEmptiedAuditLogIsNotIntact) {
  const std::string path = MakeDatabase();
  {
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(db->Exec("DELETE FROM audit_log").ok());
  }
  std::filesystem::remove(path + ".anchor");  // the attacker removes the anchor too
  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_FALSE(snap->audit_chain_ok);
  EXPECT_NE(snap->audit_problem.find("audit log is empty"), std::string::npos) << snap->audit_problem;
}

TEST(Snapshot, AnIdleDatabaseIsNotReloaded) {
  const std::string path = MakeDatabase();
  SnapshotPoller poller(path, 5);
  poller.WaitFirst();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // 40 polls
  EXPECT_EQ(poller.refreshes(), 1u);
  {
    auto db = storage::Database::Open(path).value();
    ASSERT_TRUE(storage::AuditLog(*db).Append({0, 2, "test", "experiment.ramp", "homepage", "go", "{}"}).ok());
  }
  const auto start = std::chrono::steady_clock::now();
  while (poller.refreshes() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(poller.refreshes(), 2u);  // a change is picked up
}

TEST(Snapshot, PollerPublishesAndReportsErrors) {
  SnapshotPoller poller(MakeDatabase(), 50);
  poller.WaitFirst();
  ASSERT_NE(poller.latest(), nullptr);
  EXPECT_TRUE(poller.latest()->error.empty());
  SnapshotPoller missing(testing::TempDir() + "/no-such.db", 50);
  missing.WaitFirst();
  EXPECT_FALSE(missing.latest()->error.empty());
}

TEST(Panels, EveryPanelDrawsHeadless) {
  const DashboardSnapshot snap = LoadSnapshot(MakeDatabase()).value();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.DisplaySize = ImVec2(1600, 1000);
  unsigned char* pixels = nullptr;
  int w = 0, h = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
  PanelRegistry registry = DefaultPanels();
  ASSERT_EQ(registry.panels().size(), 5u);
  for (int frame = 0; frame < 3; ++frame) {
    io.DeltaTime = 1.0f / 60.0f;
    ImGui::NewFrame();
    registry.DrawAll(snap, io.DisplaySize.x, io.DisplaySize.y);
    ImGui::Render();
  }
  ImDrawData* data = ImGui::GetDrawData();
  ASSERT_NE(data, nullptr);
  EXPECT_GT(data->TotalVtxCount, 1000);
  for (const auto& panel : registry.panels()) {
    ImGuiWindow* window = ImGui::FindWindowByName(panel->title());
    ASSERT_NE(window, nullptr) << panel->title();
    EXPECT_TRUE(window->WasActive) << panel->title();
    EXPECT_GT(window->DrawList->VtxBuffer.Size, 0) << panel->title();
  }
  // An empty snapshot (database not yet written) draws too.
  ImGui::NewFrame();
  registry.DrawAll(DashboardSnapshot{}, io.DisplaySize.x, io.DisplaySize.y);
  ImGui::Render();
  ImGui::DestroyContext();
}

TEST(Dashboard, RollbackActionIsDurableAndAudited) {
  const std::string path = MakeDatabase();
  {
    auto db = storage::Database::Open(path).value();
    experiment::ExperimentConfig c;
    c.name = c.seed = "gui-exp";
    c.arms = {{"a", "m", 0.5}, {"b", "m", 0.5}};
    c.source_json = R"({"name":"gui-exp","arms":[{"name":"a","model":"m","weight":0.5},{"name":"b","model":"m","weight":0.5}]})";
    serving::RolloutController controller(*db, SystemClock::Default());
    ASSERT_TRUE(controller.Create(c, "test").ok());
    ASSERT_TRUE(controller.Start("gui-exp", "test", "").ok());
  }
  EXPECT_EQ(RollbackExperiment(path, "gui-exp", "", "why").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(RollbackExperiment(path, "gui-exp", "oncall", "dashboard button").ok());
  const auto snap = LoadSnapshot(path).value();
  bool found = false;
  for (const auto& r : snap.rollouts) {
    if (r.name == "gui-exp") {
      found = true;
      EXPECT_EQ(r.status.state, experiment::RolloutState::kRolledBack);
      EXPECT_EQ(r.status.reason, "dashboard button");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(snap.recent_audit.front().action, "experiment.rollback");
  EXPECT_EQ(snap.recent_audit.front().actor, "oncall");
}

TEST(Png, WritesAValidFile) {
  const std::string path = testing::TempDir() + "/tiny.png";
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

}  // namespace
}  // namespace steward::gui
