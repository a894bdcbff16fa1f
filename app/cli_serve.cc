// `steward serve` (the HTTP service) and `steward token create|list|revoke` (its credentials).
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/cli.h"
#include "app/model_factory.h"
#include "app/serve_setup.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/text.h"
#include "server/server.h"
#include "server/service.h"
#include "storage/database.h"
#include "storage/token_store.h"

namespace steward::app {
namespace {

struct ServeFlags {
  ServeSetupOptions setup;
  server::ServerOptions server;
  std::string db, control, events, replica_id;
  int64_t lease_ms = 5000;
  size_t shadow_queue = 4096;
  int64_t control_tick_ms = 1000;
};

struct TokenFlags {
  std::string db, name, role, actor = "cli";
  std::vector<std::string> experiments;
  bool json = false;
};

std::string OneLine(const std::string& value) {
  const Status s = CheckLine(value, "value");
  return s.ok() ? std::string() : s.message();
}

void RunServe(ServeFlags& f) {
  if (storage::IsPostgresLocator(f.db)) {
    Fail(InvalidArgument("--db: the events need SQLite (a path or sqlite:PATH); give PostgreSQL as --control " + f.db));
  }
  if (!f.control.empty() && !storage::IsPostgresLocator(f.control)) {
    Fail(InvalidArgument("--control: expected postgres://USER@HOST:PORT/DB, got '" + f.control + "'"));
  }
  f.setup.db_path = storage::StripSqlitePrefix(f.db);
  auto builder = MakeServeSetup(f.setup);
  if (!builder.ok()) Fail(builder.status());
  server::ServiceOptions options;
  options.db_path = storage::StripSqlitePrefix(f.db);
  options.control_db = f.control;
  options.events_url = f.events;
  options.replica_id = f.replica_id;
  options.lease_ms = f.lease_ms;
  options.pipeline_setup = *builder;
  options.pipeline_options.shadow_queue = f.shadow_queue;
  options.pipeline_options.writer_queue = 4 * options.max_event_lines;  // four full batches in flight
  options.model_names = ModelNames();
  options.max_body_bytes = f.server.max_body_bytes;
  options.control_tick_ms = f.control_tick_ms;
  auto service = server::Service::Create(std::move(options));
  if (!service.ok()) Fail(service.status());
  auto srv = server::Server::Start(**service, f.server);
  if (!srv.ok()) Fail(srv.status());
  std::printf("listening on %s\n", (*srv)->address().c_str());
  std::fflush(stdout);
  // SIGINT/SIGTERM set Interrupted(): stop accepting, drain requests in flight, then flush every
  // accepted event (Service::Shutdown) and exit 0.
  std::thread watcher([&srv] {
    while (!Interrupted().load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*srv)->Stop();
  });
  (*srv)->Run();
  Interrupted().store(true);
  watcher.join();
  Status s = (*service)->Shutdown();
  if (!s.ok()) Fail(s);
  std::fprintf(stderr, "steward serve: stopped; every accepted event is committed\n");
}

}  // namespace

void AddServeCommands(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand("serve", "Run the HTTP service (docs/api.md): recommend, assign, events, experiments, audit, metrics");
  serve->add_option("--db", f->db, "SQLite database, PATH or sqlite:PATH (created if missing); with --control, this replica's events only")
      ->required();
  serve->add_option("--control", f->control,
                    "Scale-out: the shared control plane, postgres://USER@HOST:PORT/DB (experiments, rollout state, tokens, "
                    "audit log, leases); docs/scale-out.md");
  serve->add_option("--events", f->events,
                    "Scale-out: ship this replica's events to ClickHouse, clickhouse://HOST:PORT/DB[?cluster=NAME] (a durable "
                    "spool in --db; guardrails evaluated on every replica's events there)");
  serve->add_option("--replica-id", f->replica_id, "This replica's id (rollout lease holder; default HOSTNAME-PID)")->check(OneLine);
  serve->add_option("--lease-ms", f->lease_ms, "Rollout lease time; another replica takes over a rollout this long after its driver stops")
      ->capture_default_str()
      ->check(InRange(200, 3.6e6));
  serve->add_option("--listen", f->server.listen, "HOST:PORT to listen on; port 0 picks a free port (printed)")->capture_default_str();
  serve->add_option("--threads", f->server.threads, "I/O threads")->capture_default_str()->check(CLI::Range(1, 256));
  serve->add_option("--blocking-threads", f->server.blocking_threads,
                    "Threads for handlers that wait on disk (events' durable commit, control actions)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  serve->add_option("--data", f->setup.data_dir, "Data directory (default: $STEWARD_DATA or the bundled data/)");
  serve->add_option("--blocklist", f->setup.blocklist_file, "Safety blocklist (YAML: items, reason) applied to every model");
  AddSafetyScreenOptions(serve, &f->setup.screen);
  serve->add_option("--seed", f->setup.seed, "Seed of the catalog layout and the models")->capture_default_str();
  serve->add_option("--shadow-queue", f->shadow_queue, "Shadow tasks that may wait before new ones are dropped")
      ->capture_default_str()
      ->check(InRange(1, 1e6));
  serve->add_option("--max-body-bytes", f->server.max_body_bytes, "Largest request body (413 beyond)")
      ->capture_default_str()
      ->check(InRange(1024, 1 << 30));
  serve->add_option("--request-timeout-ms", f->server.request_timeout_ms,
                    "A request must arrive in full within this; idle keep-alive connections close after it")
      ->capture_default_str()
      ->check(InRange(10, 3.6e6));
  serve->add_option("--control-tick-ms", f->control_tick_ms, "How often the control loop looks for due analyses")
      ->capture_default_str()
      ->check(InRange(10, 3.6e6));
  serve->callback([f] { RunServe(*f); });

  auto t = std::make_shared<TokenFlags>();
  auto* token = app.add_subcommand("token", "API tokens for the HTTP service (stored as salted hashes)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Issue a token; it is printed once and never stored");
  create->add_option("--db", t->db, "SQLite database (created if missing)")->required();
  create->add_option("--name", t->name, "Token name: the actor the audit log records")->required()->check(OneLine);
  create->add_option("--role", t->role, "service, owner, reviewer, oncall or admin")
      ->required()
      ->check(CLI::IsMember({"service", "owner", "reviewer", "oncall", "admin"}));
  create->add_option("--actor", t->actor, "Who issues it (audit log)")->capture_default_str()->check(OneLine);
  create->add_flag("--json", t->json, "Print {\"name\", \"role\", \"token\"}");
  create->callback([t] {
    auto db = storage::Database::Open(t->db);
    if (!db.ok()) Fail(db.status());
    auto role = storage::ParseRole(t->role);
    if (!role.ok()) Fail(role.status());
    auto issued = storage::TokenStore(**db).Create(t->name, *role, t->actor, SystemClock::Default().NowMillis());
    if (!issued.ok()) Fail(issued.status());
    if (t->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"name", t->name}, {"role", t->role}, {"token", *issued}}));
    } else {
      std::printf("%s\n", issued->c_str());
      std::fprintf(stderr, "token '%s' (role %s): shown once; Steward keeps only a salted hash\n", t->name.c_str(), t->role.c_str());
    }
  });
  auto* list = token->add_subcommand("list", "Every token's name, role and dates (never the secret)");
  list->add_option("--db", t->db, "SQLite database")->required();
  list->add_flag("--json", t->json, "Print {\"tokens\": [...]}");
  list->callback([t] {
    auto db = OpenExistingDatabase(t->db, /*read_only=*/true);
    auto tokens = storage::TokenStore(*db).List();
    if (!tokens.ok()) Fail(tokens.status());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& info : *tokens) {
      out.push_back({{"name", info.name}, {"role", storage::RoleName(info.role)}, {"id", info.id}, {"created_ms", info.created_ms},
                     {"revoked_ms", info.revoked_ms ? nlohmann::json(*info.revoked_ms) : nlohmann::json(nullptr)}});
    }
    if (t->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"tokens", out}}));
      return;
    }
    for (const auto& info : *tokens) {
      std::printf("%-24s %-9s %s%s\n", SanitizeLine(info.name).c_str(), storage::RoleName(info.role), info.id.c_str(),
                  info.revoked_ms ? "  (revoked)" : "");
    }
  });
  auto* revoke = token->add_subcommand("revoke", "Revoke a token now (the service stops accepting it within a second)");
  revoke->add_option("--db", t->db, "SQLite database")->required();
  revoke->add_option("--name", t->name, "Token name")->required()->check(OneLine);
  revoke->add_option("--actor", t->actor, "Who revokes it (audit log)")->capture_default_str()->check(OneLine);
  revoke->callback([t] {
    auto db = OpenExistingDatabase(t->db, /*read_only=*/false);
    Status s = storage::TokenStore(*db).Revoke(t->name, t->actor, SystemClock::Default().NowMillis());
    if (!s.ok()) Fail(s);
    std::printf("token '%s' revoked\n", t->name.c_str());
  });

  auto* sdk = app.add_subcommand("sdk-key", "GrowthBook SDK client keys: GET /api/features/{client_key} serves the live payload");
  sdk->require_subcommand(1);
  auto* sdk_create = sdk->add_subcommand("create", "Issue a client key (public by design: it ships inside apps)");
  sdk_create->add_option("--db", t->db, "SQLite database (created if missing)")->required();
  sdk_create->add_option("--name", t->name, "Key name (audit log)")->required()->check(OneLine);
  sdk_create->add_option("--experiments", t->experiments, "Only these experiments in the payload (comma-separated; default: all)")
      ->delimiter(',')
      ->check(OneLine);
  sdk_create->add_option("--actor", t->actor, "Who issues it (audit log)")->capture_default_str()->check(OneLine);
  sdk_create->add_flag("--json", t->json, "Print {\"name\", \"client_key\"}");
  sdk_create->callback([t] {
    auto db = storage::Database::Open(t->db);
    if (!db.ok()) Fail(db.status());
    auto key = storage::TokenStore(**db).CreateSdkKey(t->name, t->experiments, t->actor, SystemClock::Default().NowMillis());
    if (!key.ok()) Fail(key.status());
    if (t->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"name", t->name}, {"client_key", *key}}));
    } else {
      std::printf("%s\n", key->c_str());
    }
  });
  auto* sdk_list = sdk->add_subcommand("list", "Every client key with its experiments");
  sdk_list->add_option("--db", t->db, "SQLite database")->required();
  sdk_list->add_flag("--json", t->json, "Print {\"sdk_keys\": [...]}");
  sdk_list->callback([t] {
    auto db = OpenExistingDatabase(t->db, /*read_only=*/true);
    auto keys = storage::TokenStore(*db).ListSdkKeys();
    if (!keys.ok()) Fail(keys.status());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : *keys) {
      out.push_back({{"name", k.name}, {"client_key", k.client_key}, {"experiments", k.experiments}, {"created_ms", k.created_ms},
                     {"revoked_ms", k.revoked_ms ? nlohmann::json(*k.revoked_ms) : nlohmann::json(nullptr)}});
    }
    if (t->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"sdk_keys", out}}));
      return;
    }
    for (const auto& k : *keys) {
      std::string experiments;
      for (const auto& e : k.experiments) experiments += (experiments.empty() ? "" : ",") + e;
      std::printf("%-24s %s %s%s\n", SanitizeLine(k.name).c_str(), k.client_key.c_str(),
                  experiments.empty() ? "(all experiments)" : SanitizeLine(experiments).c_str(), k.revoked_ms ? "  (revoked)" : "");
    }
  });
  auto* sdk_revoke = sdk->add_subcommand("revoke", "Revoke a client key: its payload answers 401 from now on");
  sdk_revoke->add_option("--db", t->db, "SQLite database")->required();
  sdk_revoke->add_option("--name", t->name, "Key name")->required()->check(OneLine);
  sdk_revoke->add_option("--actor", t->actor, "Who revokes it (audit log)")->capture_default_str()->check(OneLine);
  sdk_revoke->callback([t] {
    auto db = OpenExistingDatabase(t->db, /*read_only=*/false);
    Status s = storage::TokenStore(*db).RevokeSdkKey(t->name, t->actor, SystemClock::Default().NowMillis());
    if (!s.ok()) Fail(s);
    std::printf("SDK key '%s' revoked\n", t->name.c_str());
  });
}

}  // namespace steward::app
