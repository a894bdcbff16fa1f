// steward: the command-line entry point. Wiring only: every command calls into a library.
#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/demo.h"
#include "app/ingest_bench.h"
#include "common/log.h"
#include "gui/dashboard.h"
#include "storage/audit_log.h"
#include "storage/database.h"

namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

int Fail(const steward::Status& status) {
  std::fprintf(stderr, "steward: %s\n", status.ToString().c_str());
  return status.code() == steward::StatusCode::kInvalidArgument ? 2 : 1;
}

bool HaveDisplay() {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (display && *display) || (wayland && *wayland);
}

int RunDemoCommand(steward::app::DemoOptions options, bool headless, bool json) {
  options.cancel = &g_interrupted;
  steward::StatusOr<steward::app::DemoSummary> summary = steward::Internal("demo did not run");
  if (!headless && HaveDisplay()) {
    // Traffic on a worker thread, the dashboard on this (the UI) thread beside it. The database is
    // created first so the dashboard has something to open.
    {
      auto db = steward::storage::Database::Open(options.db_path);
      if (!db.ok()) return Fail(db.status());
    }
    std::thread traffic([&] { summary = steward::app::RunDemo(options); });
    steward::gui::DashboardOptions dash;
    dash.db_path = options.db_path;
    dash.subtitle = "demo traffic running; close the window when done";
    dash.closed = &g_interrupted;  // closing the window stops the traffic early
    steward::Status ui = steward::gui::RunDashboard(dash);
    traffic.join();
    if (!ui.ok()) std::fprintf(stderr, "steward: dashboard unavailable (%s); the demo ran headless\n", ui.message().c_str());
  } else {
    summary = steward::app::RunDemo(options);
  }
  if (!summary.ok()) return Fail(summary.status());
  if (json) {
    std::printf("%s\n", steward::app::DemoSummaryJson(*summary).c_str());
  } else {
    std::printf("%s", steward::app::DemoSummaryText(*summary).c_str());
    std::printf("Next: steward dashboard --db %s    steward audit-log verify --db %s\n", summary->db.c_str(), summary->db.c_str());
  }
  return summary->cancelled ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  CLI::App app{"Steward: experimentation and governance for recommender systems.\n"
               "Run `steward <command> --help` for each command. Documentation: docs/cli.md"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  // demo
  steward::app::DemoOptions demo;
  bool headless = false, demo_json = false, quiet = false;
  auto* demo_cmd = app.add_subcommand("demo", "Drive simulated traffic through the real serving path into SQLite");
  demo_cmd->add_flag("--headless", headless, "Do not open the dashboard beside the traffic");
  demo_cmd->add_option("--requests", demo.requests, "Number of requests to simulate")->capture_default_str()->check(CLI::NonNegativeNumber);
  demo_cmd->add_option("--db", demo.db_path, "SQLite database to write (created if missing; runs append)")->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "Seed of every random process in the run")->capture_default_str();
  demo_cmd->add_option("--data", demo.data_dir, "Data directory (default: $STEWARD_DATA or the bundled data/)");
  demo_cmd->add_option("--experiment", demo.experiment_file, "Experiment definition (default: data/experiments/demo.yaml)");
  demo_cmd->add_option("--blocklist", demo.blocklist_file, "Safety blocklist (YAML: items, reason) applied to every model");
  demo_cmd->add_option("--days", demo.days, "Simulated days the requests are spread over")->capture_default_str()->check(CLI::PositiveNumber);
  demo_cmd->add_option("--k", demo.list_size, "Items per recommended list")->capture_default_str()->check(CLI::Range(1, 100));
  demo_cmd->add_flag("--json", demo_json, "Print one JSON summary object as the last line");
  demo_cmd->add_flag("--quiet", quiet, "No progress lines");

  // dashboard
  steward::gui::DashboardOptions dash;
  auto* dash_cmd = app.add_subcommand("dashboard", "Open the desktop dashboard on a database");
  dash_cmd->add_option("--db", dash.db_path, "SQLite database to show")->required();
  dash_cmd->add_option("--screenshot", dash.screenshot_path, "Render --frames frames, write a PNG of the window, exit");
  dash_cmd->add_option("--frames", dash.frames, "Frames to render before the screenshot")->capture_default_str()->check(CLI::PositiveNumber);
  dash_cmd->add_option("--width", dash.width, "Window width")->capture_default_str()->check(CLI::Range(320, 8192));
  dash_cmd->add_option("--height", dash.height, "Window height")->capture_default_str()->check(CLI::Range(240, 8192));

  // audit-log
  auto* audit_cmd = app.add_subcommand("audit-log", "Inspect the hash-chained audit log");
  audit_cmd->require_subcommand(1);
  std::string audit_db;
  bool audit_json = false;
  auto* verify_cmd = audit_cmd->add_subcommand("verify", "Check the hash chain; exit 0 when intact, 3 naming the first bad row");
  verify_cmd->add_option("--db", audit_db, "SQLite database")->required();
  verify_cmd->add_flag("--json", audit_json, "Print the result as JSON");
  int list_limit = 20;
  auto* list_cmd = audit_cmd->add_subcommand("list", "Print the newest audit rows");
  list_cmd->add_option("--db", audit_db, "SQLite database")->required();
  list_cmd->add_option("--limit", list_limit, "Rows to print (0 = all)")->capture_default_str();
  list_cmd->add_flag("--json", audit_json, "One JSON object per row");

  // bench
  auto* bench_cmd = app.add_subcommand("bench", "Measure performance");
  bench_cmd->require_subcommand(1);
  steward::app::IngestBenchOptions ingest;
  bool ingest_json = false;
  std::string sync = "full";
  auto* ingest_cmd = bench_cmd->add_subcommand("ingest", "Durable feedback ingest through the production writer");
  ingest_cmd->add_option("--events", ingest.events, "Events to write")->capture_default_str()->check(CLI::PositiveNumber);
  ingest_cmd->add_option("--db", ingest.db_path, "Database file (default: a temporary file, removed afterwards)");
  ingest_cmd->add_option("--sync", sync, "SQLite synchronous mode: full (survives power loss) or normal (survives kill -9)")
      ->capture_default_str()->check(CLI::IsMember({"full", "normal"}));
  ingest_cmd->add_option("--batch", ingest.producer_batch, "Events per producer submit")->capture_default_str()->check(CLI::PositiveNumber);
  ingest_cmd->add_flag("--json", ingest_json, "Print {\"events\", \"seconds\", \"events_per_sec\"}");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  steward::LogLevel level;
  if (steward::ParseLogLevel(log_level, level)) steward::SetLogLevel(level);

  if (*demo_cmd) {
    demo.progress = !quiet;
    return RunDemoCommand(demo, headless, demo_json);
  }
  if (*dash_cmd) {
    steward::Status s = steward::gui::RunDashboard(dash);
    if (!s.ok()) return Fail(s);
    if (!dash.screenshot_path.empty()) std::printf("wrote %s\n", dash.screenshot_path.c_str());
    return 0;
  }
  if (*audit_cmd) {
    steward::storage::DatabaseOptions options;
    options.read_only = true;
    if (!std::filesystem::exists(audit_db)) return Fail(steward::NotFound(audit_db + ": no such database; check --db"));
    auto db = steward::storage::Database::Open(audit_db, options);
    if (!db.ok()) return Fail(db.status());
    steward::storage::AuditLog audit(**db);
    if (*verify_cmd) {
      auto result = audit.Verify();
      if (!result.ok()) return Fail(result.status());
      if (audit_json) {
        std::printf("%s\n", nlohmann::json{{"ok", result->ok}, {"rows", result->rows}, {"first_bad_seq", result->first_bad_seq},
                                           {"problem", result->problem}}.dump().c_str());
      } else if (result->ok) {
        std::printf("audit log intact: %lld rows, hash chain verified\n", static_cast<long long>(result->rows));
      } else {
        std::fprintf(stderr, "audit log BROKEN at row seq=%lld: %s\n", static_cast<long long>(result->first_bad_seq),
                     result->problem.c_str());
      }
      return result->ok ? 0 : 3;
    }
    auto rows = audit.Recent(list_limit);
    if (!rows.ok()) return Fail(rows.status());
    for (const auto& e : *rows) {
      if (audit_json) {
        std::printf("%s\n", nlohmann::json{{"seq", e.seq}, {"ts_ms", e.ts_ms}, {"actor", e.actor}, {"action", e.action},
                                           {"subject", e.subject}, {"reason", e.reason}, {"payload", e.payload},
                                           {"hash", e.hash}}.dump().c_str());
      } else {
        std::printf("%6lld  %-8s %-20s %-16s %s\n", static_cast<long long>(e.seq), e.actor.c_str(), e.action.c_str(),
                    e.subject.c_str(), e.reason.c_str());
      }
    }
    return 0;
  }
  if (*bench_cmd) {
    ingest.sync = sync == "normal" ? steward::storage::SyncMode::kNormal : steward::storage::SyncMode::kFull;
    ingest.progress = !ingest_json;
    auto result = steward::app::RunIngestBench(ingest);
    if (!result.ok()) return Fail(result.status());
    const nlohmann::json j = {{"events", result->events},
                              {"seconds", result->seconds},
                              {"events_per_sec", result->events_per_sec},
                              {"sync", sync},
                              {"batches", result->batches},
                              {"producer_waits", result->producer_waits},
                              {"rows_in_db", result->rows_in_db}};
    if (ingest_json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("ingested %lld events in %.3f s: %.0f events/s (synchronous=%s, %llu group commits)\n",
                  static_cast<long long>(result->events), result->seconds, result->events_per_sec, sync.c_str(),
                  static_cast<unsigned long long>(result->batches));
    }
    return 0;
  }
  return 0;
}
