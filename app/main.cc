// steward: the command-line entry point. Wiring only: each command lives in a cli_*.cc file and
// calls into a library.
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "app/cli.h"
#include "common/log.h"
#include "common/text.h"

namespace {
void OnSignal(int) { steward::app::Interrupted().store(true); }

// Every argument is text: one check here, before any command runs, so bytes that are not UTF-8
// (or a NUL) never reach an audit row, a JSON line or the database. Names the flag the value
// belongs to.
int RejectNonTextArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string what = "argument " + std::to_string(i);
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string_view::npos) {
      what = "the value of " + std::string(arg.substr(0, arg.find('=')));
    } else if (i > 1 && std::string_view(argv[i - 1]).rfind("-", 0) == 0) {
      what = "the value of " + std::string(argv[i - 1]);
    }
    steward::Status s = steward::CheckText(arg, what);
    if (!s.ok()) {
      std::fprintf(stderr, "steward: %s\n", s.ToString().c_str());
      return 2;
    }
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (const int bad = RejectNonTextArguments(argc, argv)) return bad;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  CLI::App app{"Steward: experimentation and governance for recommender systems.\n"
               "Run `steward <command> --help` for each command. Documentation: docs/cli.md"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->each([](const std::string& value) {
        steward::LogLevel level;
        if (steward::ParseLogLevel(value, level)) steward::SetLogLevel(level);
      });
  steward::app::AddDemoCommands(app);
  steward::app::AddExperimentCommands(app);
  steward::app::AddStatsCommands(app);
  steward::app::AddModelCommands(app);
  steward::app::AddAuditCommands(app);
  steward::app::AddBenchCommands(app);
  steward::app::AddServeCommands(app);
  steward::app::AddGovernanceCommands(app);
  steward::app::AddSafetyCommands(app);
  steward::app::AddEventsCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    // Help and version exit 0; a bad command line (unknown flag, failed validation, missing
    // option) exits 2 like every other bad input (docs/cli.md); Fail() carries its own code.
    const int code = app.exit(e);
    const bool ours = dynamic_cast<const CLI::RuntimeError*>(&e) != nullptr;  // Fail() and explicit codes (RuntimeError is a ParseError in CLI11 2.x)
    return code != 0 && !ours && dynamic_cast<const CLI::ParseError*>(&e) != nullptr ? 2 : code;
  }
  return 0;
}
