// The console's HTTP source against the real `steward serve` (port 0): the role from the token,
// experiments with their definitions, the audit log, the governance audit, and actions audited
// under the token's name; the wrong role refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "console/session.h"
#include "console/source.h"
#include "storage/audit_log.h"
#include "tests/console/fixture.h"

extern char** environ;

namespace steward::console {
namespace {

std::string RunSteward(const std::string& args) {
  FILE* p = popen((std::string(STEWARD_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << args;
  return out;
}

std::string Token(const std::string& db, const std::string& name, const std::string& role) {
  return nlohmann::json::parse(RunSteward("token create --db " + db + " --name " + name + " --role " + role + " --json"))["token"];
}

struct Served {
  pid_t pid = -1;
  std::string url;
  explicit Served(const std::string& db) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {STEWARD_BINARY, "serve", "--db", db, "--listen", "127.0.0.1:0", "--threads", "2"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid, STEWARD_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    EXPECT_EQ(line.rfind("listening on 127.0.0.1:", 0), 0u) << line;
    url = "http://" + line.substr(std::string("listening on ").size());
  }
  ~Served() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string key = ::testing::TempDir() + "/console-http-" + std::to_string(getpid()) + ".key";
    setenv("STEWARD_AUDIT_KEY_FILE", key.c_str(), 1);
    db_ = testing_console::MakeGovernedDatabase("http");
    oncall_ = Token(db_, "pager", "oncall");
    owner_ = Token(db_, "owner-1", "owner");
    served_ = std::make_unique<Served>(db_);
  }
  std::unique_ptr<DataSource> Source(const std::string& token) {
    HttpSourceOptions o;
    o.url = served_->url;
    o.token = token;
    return MakeHttpSource(o);
  }
  std::string db_, oncall_, owner_;
  std::unique_ptr<Served> served_;
};

TEST_F(HttpSourceTest, ReadsTheRoleExperimentsAndAuditLog) {
  auto source = Source(oncall_);
  EXPECT_EQ(source->role(), ConsoleRole::kViewer);  // not known before the first poll
  auto snap = source->Poll();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_TRUE(snap->has_value());
  EXPECT_EQ(source->role(), ConsoleRole::kOncall);
  const ConsoleSnapshot& s = **snap;
  EXPECT_FALSE(s.has_traffic_figures);
  const ExperimentView* e = s.Find("gov");
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->valid) << e->error;
  EXPECT_EQ(e->status.state, experiment::RolloutState::kRamping);
  EXPECT_EQ(e->config.ramp.size(), 4u);  // the definition came with GET /v1/experiments/gov
  EXPECT_EQ(e->config.ramp[2].approval, "rai-reviewer");
  EXPECT_TRUE(s.chain.ok) << s.chain.problem;
  EXPECT_GT(s.audit_rows, 0);
  EXPECT_EQ(s.recent_audit.front().seq, s.audit_rows);
  // The governance audit through the API, with the hash of the report served.
  auto report = source->Audit("gov");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->hash.size(), 64u);
  EXPECT_FALSE(report->recorded_as_evidence);
  EXPECT_EQ(report->audit.name, "gov");
  EXPECT_FALSE(report->audit.arms.empty());
}

TEST_F(HttpSourceTest, ActionsAreAuditedUnderTheTokensNameAndTheWrongRoleIsRefused) {
  Session session(Source(oncall_), 20);
  session.WaitFirstRefresh();
  ASSERT_EQ(session.role(), ConsoleRole::kOncall);
  Action promote;
  promote.kind = ActionKind::kPromote;
  promote.experiment = "gov";
  promote.actor = "ignored";
  promote.reason = "trying";
  session.Submit(promote);
  session.WaitIdle();
  auto refused = session.TakeResults();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_TRUE(IsForbidden(refused[0].status)) << refused[0].message;
  EXPECT_NE(refused[0].message.find("owner or admin"), std::string::npos) << refused[0].message;
  Action rollback;
  rollback.kind = ActionKind::kRollback;
  rollback.experiment = "gov";
  rollback.actor = "ignored";
  rollback.reason = "p99 doubled";
  session.Submit(rollback);
  session.WaitIdle();
  auto done = session.TakeResults();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].status.ok()) << done[0].message;
  auto db = storage::Database::Open(db_).value();
  const auto row = storage::AuditLog(*db).Recent(1).value().front();
  EXPECT_EQ(row.action, "experiment.rollback");
  EXPECT_EQ(row.actor, "pager");  // the token's name, as the service audits it
  EXPECT_EQ(row.reason, "p99 doubled");
  // The owner's token promotes... a rolled-back experiment: the service's 409 comes back.
  auto owner = Source(owner_);
  ASSERT_TRUE(owner->Poll().ok());
  auto again = owner->Run(promote);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsForbidden(again.status())) << again.status().message();
}

}  // namespace
}  // namespace steward::console
