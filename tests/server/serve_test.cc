// `steward serve` end to end: the real binary on port 0, driven over HTTP with tokens of the right
// and the wrong roles; SIGTERM during a stream of events loses nothing acknowledged; a slow-loris
// client is cut off while others are served; oversized bodies get 413.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "server/client.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/statement.h"

extern char** environ;

namespace steward::server {
namespace {

using nlohmann::json;

std::string FreshPath(const std::string& name) {
  const std::string path = testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(path + suffix);
  return path;
}

// Runs the binary to completion and returns its stdout.
std::string RunSteward(const std::string& args) {
  const std::string command = std::string(STEWARD_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << command;
  return out;
}

std::string Token(const std::string& db, const std::string& name, const std::string& role) {
  return json::parse(RunSteward("token create --db " + db + " --name " + name + " --role " + role + " --json"))["token"];
}

// A running `steward serve`.
struct Served {
  pid_t pid = -1;
  std::string url;

  Served(const std::string& db, std::vector<std::string> extra = {}) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {STEWARD_BINARY, "serve", "--db", db, "--listen", "127.0.0.1:0", "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
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
  // SIGTERM and the exit status.
  int Stop() {
    if (pid < 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Served() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

int64_t Count(const std::string& db, const std::string& sql) {
  auto opened = storage::Database::Open(db);
  auto st = (*opened)->Prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  auto row = (*st)->Step();
  return row.ok() && *row ? (*st)->ColumnInt(0) : -1;
}

class ServeTest : public testing::Test {
 protected:
  void SetUp() override {
    key_ = testing::TempDir() + "/serve-audit-" + std::to_string(getpid()) + ".key";
    setenv("STEWARD_AUDIT_KEY_FILE", key_.c_str(), 1);
  }
  std::string key_;
};

TEST_F(ServeTest, RolesActionsEventsAuditAndMetricsOverHttp) {
  const std::string db = FreshPath("serve-e2e");
  RunSteward("experiment create --db " + db + " --file " STEWARD_DATA_DIR "/experiments/demo.yaml");
  const std::string app = Token(db, "checkout-app", "service"), owner = Token(db, "alice", "owner"),
                    oncall = Token(db, "bob-oncall", "oncall");
  Served served(db);
  auto as = [&](const std::string& token) { return std::move(HttpClient::Create(served.url, token)).value(); };
  auto app_client = as(app), owner_client = as(owner), oncall_client = as(oncall), anonymous = as("");

  EXPECT_EQ(anonymous->Send("GET", "/healthz")->status, 200);
  EXPECT_EQ(anonymous->Send("POST", "/v1/recommend", R"({"user_id":"u1"})")->status, 401);
  EXPECT_EQ(owner_client->Send("POST", "/v1/recommend", R"({"user_id":"u1"})")->status, 403);
  ASSERT_EQ(owner_client->Send("POST", "/v1/experiments/homepage-recs/start", R"({"reason":"launch"})")->status, 200);

  // Recommend, then click the second item of the list.
  auto rec = app_client->Send("POST", "/v1/recommend", R"({"user_id":"reader-7","k":5,"attributes":{"age_band":"25-34"}})");
  ASSERT_EQ(rec->status, 200) << rec->body;
  const json list = json::parse(rec->body);
  ASSERT_EQ(list["items"].size(), 5u);
  const int64_t rid = list["request_id"], item = list["items"][1]["item_id"];
  auto events = app_client->Send("POST", "/v1/events",
                                 R"({"type":"click","request_id":)" + std::to_string(rid) + R"(,"item_id":)" + std::to_string(item) + "}\n",
                                 "application/x-ndjson");
  ASSERT_EQ(events->status, 200) << events->body;
  EXPECT_EQ(json::parse(events->body)["accepted"], 1);

  // Rollback: the owner may not, on-call may; serving applies it at once.
  EXPECT_EQ(owner_client->Send("POST", "/v1/experiments/homepage-recs/rollback", R"({"reason":"x"})")->status, 403);
  auto rolled = oncall_client->Send("POST", "/v1/experiments/homepage-recs/rollback", R"({"reason":"p99 latency alert"})");
  ASSERT_EQ(rolled->status, 200) << rolled->body;
  EXPECT_EQ(json::parse(rolled->body)["state"], "rolled_back");
  auto assigned = app_client->Send("POST", "/v1/assign", R"({"experiment":"homepage-recs","user_id":"reader-7"})");
  EXPECT_FALSE(json::parse(assigned->body)["in_experiment"].get<bool>());

  auto verify = oncall_client->Send("GET", "/v1/audit/verify");
  EXPECT_TRUE(json::parse(verify->body)["ok"].get<bool>()) << verify->body;
  auto metrics = oncall_client->Send("GET", "/metrics");
  EXPECT_NE(metrics->body.find("steward_http_requests_total{endpoint=\"/v1/recommend\",arm=\"excluded\",code=\"200\"} 1"),
            std::string::npos) << metrics->body.substr(0, 3000);
  EXPECT_NE(metrics->body.find("steward_auth_denied_total{code=\"401\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("steward_auth_denied_total{code=\"403\"} 2"), std::string::npos);
  EXPECT_NE(metrics->body.find("steward_experiment_state{experiment=\"homepage-recs\",state=\"rolled_back\"} 1"), std::string::npos);

  EXPECT_EQ(served.Stop(), 0);
  // The database has what the API reported.
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM exposures WHERE request_id = " + std::to_string(rid) + " AND user_key = 'reader-7'"), 1);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM feedback WHERE request_id = " + std::to_string(rid) + " AND position = 2"), 1);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'experiment.rollback' AND actor = 'bob-oncall' AND reason = 'p99 latency alert'"), 1);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'experiment.shadow' AND actor = 'alice'"), 1);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.denied'"), 3);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM audit_log WHERE payload LIKE '%" + app.substr(app.rfind('_') + 1) + "%'"), 0);
}

TEST_F(ServeTest, SigtermDuringAnEventStreamKeepsEveryAcknowledgedEvent) {
  const std::string db = FreshPath("serve-sigterm");
  RunSteward("experiment create --db " + db + " --file " STEWARD_DATA_DIR "/experiments/demo.yaml");
  const std::string app = Token(db, "ingest", "service");
  Served served(db);
  std::atomic<bool> stop{false};
  std::vector<std::pair<int64_t, int64_t>> acknowledged;  // [first, last] request ids of each 200
  int64_t sent_batches = 0;
  std::thread producer([&] {
    auto client = std::move(HttpClient::Create(served.url, app)).value();
    int64_t next = 1'000'000;
    while (!stop) {
      std::string body;
      const int64_t first = next;
      for (int i = 0; i < 200; ++i, ++next) {
        body += R"({"type":"exposure","request_id":)" + std::to_string(next) +
                R"(,"user_id":"u)" + std::to_string(next % 977) + R"(","experiment":"homepage-recs","arm":"control","items":[{"item_id":1},{"item_id":2}]})" "\n";
      }
      auto r = client->Send("POST", "/v1/events", body, "application/x-ndjson");
      if (!r.ok()) break;  // the server went away
      ++sent_batches;
      if (r->status == 200) {
        const json out = json::parse(r->body);
        EXPECT_EQ(out["accepted"], 200) << r->body;
        acknowledged.emplace_back(first, next - 1);
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(served.Stop(), 0);
  stop = true;
  producer.join();
  ASSERT_GT(acknowledged.size(), 3u) << "the stream never got going";
  int64_t expected = 0;
  for (const auto& [first, last] : acknowledged) {
    expected += last - first + 1;
    EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM exposures WHERE request_id BETWEEN " + std::to_string(first) + " AND " + std::to_string(last)),
              last - first + 1);
  }
  EXPECT_GE(Count(db, "SELECT COUNT(*) FROM exposures WHERE model_version = 'external:app'"), expected);
}

TEST_F(ServeTest, DemoOverHttpDrivesTheWorldThroughTheApi) {
  const std::string db = FreshPath("serve-demo");
  const std::string admin = Token(db, "demo-client", "admin");
  Served served(db);
  const json summary = json::parse(RunSteward("demo --url " + served.url + " --token " + admin + " --requests 400 --quiet --json"));
  EXPECT_EQ(summary["requests"], 400);
  EXPECT_EQ(summary["db"], served.url);
  EXPECT_EQ(summary["experiments"][0]["name"], "homepage-recs");
  EXPECT_EQ(summary["experiments"][0]["state"], "shadow");  // created and started through the API
  EXPECT_EQ(served.Stop(), 0);
  // What the client counted is what the server logged.
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM exposures WHERE experiment = 'homepage-recs'"), summary["exposures"].get<int64_t>());
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM feedback WHERE kind = 1"), summary["clicks"].get<int64_t>());
  EXPECT_GT(summary["clicks"].get<int64_t>(), 0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'experiment.shadow' AND actor = 'demo-client'"), 1);
}

TEST_F(ServeTest, SlowLorisIsCutOffAndOversizedBodiesGet413) {
  const std::string db = FreshPath("serve-edges");
  const std::string app = Token(db, "edge-app", "service");
  Served served(db, {"--request-timeout-ms", "300", "--max-body-bytes", "4096"});
  const int port = std::stoi(served.url.substr(served.url.rfind(':') + 1));
  // A client that sends half a header and then nothing.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  // Others are served meanwhile.
  auto client = std::move(HttpClient::Create(served.url, app)).value();
  EXPECT_EQ(client->Send("POST", "/v1/recommend", R"({"user_id":"u1"})")->status, 200);
  // Cut off after the request timeout: the read sees the close.
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto started = std::chrono::steady_clock::now();
  char buf[256];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LE(n, 0);
  EXPECT_LT(waited, 1.9);  // closed by the server, not by our 2 s receive timeout
  close(fd);
  auto big = client->Send("POST", "/v1/events", std::string(8192, ' '));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 413);
  auto fresh = std::move(HttpClient::Create(served.url, app)).value();
  EXPECT_EQ(fresh->Send("GET", "/readyz")->status, 200);
  EXPECT_EQ(served.Stop(), 0);
}

}  // namespace
}  // namespace steward::server
