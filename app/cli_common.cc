#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "app/cli.h"
#include "app/sim_traffic.h"

namespace steward::app {

std::atomic<bool>& Interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

std::string Bound(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

CLI::Validator Bounded(double minimum, double maximum) {
  const std::string low = Bound(minimum), high = Bound(maximum);
  const bool has_max = maximum < std::numeric_limits<double>::infinity();
  return CLI::Validator(
      [minimum, maximum, low, high, has_max](std::string& input) -> std::string {
        try {
          size_t used = 0;
          const double value = std::stod(input, &used);
          if (used != input.size()) return "must be a number, got '" + input + "'";
          if (!(value >= minimum)) return "must be at least " + low + ", got " + input;
          if (has_max && !(value <= maximum)) return "must be at most " + high + ", got " + input;
        } catch (const std::out_of_range&) {
          return "must be " + std::string(has_max ? "at most " + high : "a finite number") + ", got " + input;
        } catch (const std::exception&) {
          return "must be a number, got '" + input + "'";
        }
        return std::string();
      },
      has_max ? "NUMBER in [" + low + ", " + high + "]" : "NUMBER >= " + low);
}

}  // namespace

CLI::Validator AtLeast(double minimum) { return Bounded(minimum, std::numeric_limits<double>::infinity()); }
CLI::Validator InRange(double minimum, double maximum) { return Bounded(minimum, maximum); }

void Fail(const Status& status) {
  std::fprintf(stderr, "steward: %s\n", status.ToString().c_str());
  throw CLI::RuntimeError(status.code() == StatusCode::kInvalidArgument ? 2 : 1);
}

std::unique_ptr<storage::Database> OpenExistingDatabase(const std::string& locator, bool read_only) {
  // A PostgreSQL control plane (postgres://...) is checked by connecting; a SQLite file must exist.
  const std::string path = storage::StripSqlitePrefix(locator);
  if (!storage::IsPostgresLocator(locator) && !std::filesystem::exists(path)) {
    Fail(NotFound(path + ": no such database; check --db, or create one with `steward demo --db " + path +
                  "` or `steward experiment create --db " + path + " --file FILE`"));
  }
  storage::DatabaseOptions options;
  options.read_only = read_only;
  auto db = storage::Database::Open(path, options);
  if (!db.ok()) Fail(db.status());
  return std::move(db).value();
}

void PrintJsonLine(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

void AddSafetyScreenOptions(CLI::App* command, ScreenFiles* files) {
  command->add_option("--policy", files->policy_file,
                      "Safety policy (YAML: reason, blocklist, restricted_categories, max_impressions_per_user_item, cap_window) "
                      "enforced before ranking");
  command->add_option("--risk-model", files->risk_model_file,
                      "Risk scorer (`steward safety train`; data/safety/risk-model-v1.json) applied to every candidate");
  command->add_option("--block-risk", files->block_risk, "Risk at or above which a candidate is blocked")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--demote-risk", files->demote_risk, "Risk at or above which a served item is moved to the end of its list")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
}

}  // namespace steward::app
