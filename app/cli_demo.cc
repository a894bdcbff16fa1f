#include <cstdlib>
#include <memory>
#include <thread>

#include "app/cli.h"
#include "app/demo.h"
#include "app/model_factory.h"
#include "gui/dashboard.h"
#include "storage/database.h"

namespace steward::app {
namespace {

bool HaveDisplay() {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (display && *display) || (wayland && *wayland);
}

struct DemoFlags {
  DemoOptions options;
  bool headless = false, json = false, quiet = false;
  std::string url, token;
};

void RunDemoCommand(DemoFlags& flags) {
  DemoOptions options = flags.options;
  options.progress = !flags.quiet;
  options.cancel = &Interrupted();
  StatusOr<DemoSummary> summary = Internal("demo did not run");
  if (!flags.url.empty()) {
    if (flags.token.empty()) Fail(InvalidArgument("--url needs --token (a service or admin token: steward token create)"));
    summary = RunDemoOverHttp(options, flags.url, flags.token);
  } else if (!flags.headless && HaveDisplay()) {
    // Traffic on a worker thread, the dashboard on this (the UI) thread beside it. The database
    // is created first so the dashboard has something to open.
    {
      auto db = storage::Database::Open(options.db_path);
      if (!db.ok()) Fail(db.status());
    }
    std::thread traffic([&] { summary = RunDemo(options); });
    gui::DashboardOptions dash;
    dash.db_path = options.db_path;
    dash.subtitle = "demo traffic running; close the window when done";
    dash.closed = &Interrupted();  // closing the window stops the traffic early
    Status ui = gui::RunDashboard(dash);
    traffic.join();
    if (!ui.ok()) std::fprintf(stderr, "steward: dashboard unavailable (%s); the demo ran headless\n", ui.message().c_str());
  } else {
    summary = RunDemo(options);
  }
  if (!summary.ok()) Fail(summary.status());
  if (flags.json) {
    PrintJsonLine(DemoSummaryJson(*summary));
  } else {
    std::printf("%s", DemoSummaryText(*summary).c_str());
    if (flags.url.empty()) {
      std::printf("Next: steward dashboard --db %s    steward audit-log verify --db %s\n", summary->db.c_str(), summary->db.c_str());
    }
  }
  if (summary->cancelled) throw CLI::RuntimeError(130);
}

}  // namespace

void AddDemoCommands(CLI::App& app) {
  auto flags = std::make_shared<DemoFlags>();
  DemoOptions& o = flags->options;
  auto* demo = app.add_subcommand("demo", "Drive simulated traffic through the real serving path into SQLite");
  demo->add_flag("--headless", flags->headless, "Do not open the dashboard beside the traffic");
  demo->add_option("--requests", o.requests, "Number of requests to simulate")->capture_default_str()->check(InRange(0, 1e8));
  demo->add_option("--db", o.db_path, "SQLite database to write (created if missing; runs append)")->capture_default_str();
  demo->add_option("--seed", o.seed, "Seed of every random process in the run")->capture_default_str();
  demo->add_option("--scenario", o.scenario,
                   "healthy: ramp a good treatment under the controller; regression: the treatment degrades part-way "
                   "and must be rolled back")
      ->check(CLI::IsMember({"healthy", "regression"}));
  demo->add_option("--data", o.data_dir, "Data directory (default: $STEWARD_DATA or the bundled data/)");
  demo->add_option("--experiment", o.experiment_file, "Experiment definition (default: data/experiments/demo.yaml)");
  demo->add_option("--blocklist", o.blocklist_file, "Safety blocklist (YAML: items, reason) applied to every model");
  AddSafetyScreenOptions(demo, &o.screen);
  demo->add_option("--shadow-queue", o.shadow_queue,
                   "Shadow tasks that may wait before new ones are dropped (the default shadows every request; the service's is 4096)")
      ->capture_default_str()
      ->check(InRange(1, 1e6));
  demo->add_option("--out", o.report_dir,
                   "After the run, write the shadow report and the governance audit (JSON, Markdown, HTML, PNG charts) into DIR/shadow and DIR/audit");
  demo->add_option("--days", o.days, "Simulated days the requests are spread over")->capture_default_str()->check(InRange(1, 3650));
  demo->add_option("--k", o.list_size, "Items per recommended list")->capture_default_str()->check(CLI::Range(1, 100));
  demo->add_option("--url", flags->url,
                   "Send the traffic to a running `steward serve` at http://HOST:PORT instead of serving in-process "
                   "(the server logs; --db is not used); several comma-separated replicas split users by user id, "
                   "with failover to the next while one is down");
  demo->add_option("--token", flags->token, "API token for --url (role service, or admin to create and start the experiment)");
  demo->add_flag("--json", flags->json, "Print one JSON summary object as the last line");
  demo->add_flag("--quiet", flags->quiet, "No progress lines");
  demo->callback([flags] { RunDemoCommand(*flags); });

  auto dash = std::make_shared<gui::DashboardOptions>();
  auto* cmd = app.add_subcommand("dashboard", "Open the console (owner, reviewer and on-call workspaces) on a database");
  auto* db = cmd->add_option("--db", dash->db_path, "SQLite database to show");
  auto* url = cmd->add_option("--url", dash->url, "Or a running `steward serve` at http://HOST:PORT (reads and actions through the API)");
  cmd->add_option("--token", dash->token, "API token for --url; the console acts with the token's role")->needs(url);
  db->excludes(url);
  cmd->add_option("--role", dash->role, "Act as this role: owner (start, promote, stop, create), reviewer (sign-off, labels), "
                                        "oncall (rollback, kill switch) or admin; without it the console is read-only")
      ->check(CLI::IsMember({"owner", "reviewer", "oncall", "admin"}));
  cmd->add_option("--screenshot", dash->screenshot_path, "Render --frames frames, write a PNG of the window, exit");
  cmd->add_option("--frames", dash->frames, "Frames to render before the screenshot (or with --frame-stats)")->capture_default_str()->check(InRange(1, 100000));
  cmd->add_flag("--frame-stats", dash->frame_stats,
                "Render --frames frames without sleeping, then print {\"frames\", \"frame_ms_p50\", \"frame_ms_p99\", \"refresh_ms_p99\"}");
  cmd->add_option("--width", dash->width, "Window width")->capture_default_str()->check(CLI::Range(320, 8192));
  cmd->add_option("--height", dash->height, "Window height")->capture_default_str()->check(CLI::Range(240, 8192));
  cmd->callback([dash] {
    dash->known_models = ModelNames();
    Status s = gui::RunDashboard(*dash);
    if (!s.ok()) Fail(s);
    if (!dash->screenshot_path.empty()) std::printf("wrote %s\n", dash->screenshot_path.c_str());
  });
}

}  // namespace steward::app
