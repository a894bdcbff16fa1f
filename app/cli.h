// Command registration: each file adds its commands to the CLI11 app. Commands run from CLI11
// callbacks and report failure by throwing CLI::RuntimeError with the exit code (Fail()).
// Exit codes: 0 ok, 1 error, 2 bad input, 3 audit chain broken, 130 interrupted.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/database.h"

namespace steward::app {

// Set by SIGINT/SIGTERM; long commands stop cleanly when it turns true.
std::atomic<bool>& Interrupted();

// Validators with messages that name the bound ("must be at least 1, got 0"); CLI11's
// PositiveNumber prints the whole double range instead.
CLI::Validator AtLeast(double minimum);
// Both bounds: every count that sets how long a command runs or how much it allocates has a
// documented maximum (docs/cli.md), so no flag value can make a command run for days or exhaust
// memory ("must be at most 100000000, got 99999999999999999999").
CLI::Validator InRange(double minimum, double maximum);

// Prints "steward: <status>" to stderr and throws CLI::RuntimeError with the matching exit code.
[[noreturn]] void Fail(const Status& status);
// Opens an existing database (Fail()s with a hint when the file is missing).
std::unique_ptr<storage::Database> OpenExistingDatabase(const std::string& path, bool read_only);
// Prints a JSON object as one line on stdout.
void PrintJsonLine(const std::string& json);

struct ScreenFiles;
// --policy, --risk-model, --block-risk, --demote-risk: the safety screen of `serve` and `demo`.
void AddSafetyScreenOptions(CLI::App* command, ScreenFiles* files);

void AddDemoCommands(CLI::App& app);        // demo, dashboard (cli_demo.cc)
void AddAuditCommands(CLI::App& app);       // audit-log verify|list (cli_audit.cc)
void AddBenchCommands(CLI::App& app);       // bench ingest|assign (cli_bench.cc)
void AddStatsCommands(CLI::App& app);       // stats ..., assign (cli_stats.cc)
void AddExperimentCommands(CLI::App& app);  // experiment ... (cli_experiment.cc)
void AddModelCommands(CLI::App& app);       // replay (cli_models.cc)
void AddServeCommands(CLI::App& app);       // serve, token (cli_serve.cc)
void AddGovernanceCommands(CLI::App& app);  // audit [exposures|sign-off|sample|label] (cli_governance.cc)
void AddEventsCommands(CLI::App& app);      // events guardrails (cli_events.cc)
void AddSafetyCommands(CLI::App& app);      // safety label|train|score (cli_safety.cc)

}  // namespace steward::app
