#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli.h"
#include "app/model_factory.h"
#include "common/file.h"
#include "common/json.h"
#include "common/text.h"
#include "experiment/assigner.h"
#include "experiment/stats.h"
#include "storage/database.h"
#include "storage/rollout_store.h"
#include "experiment/sticky.h"

namespace steward::app {
namespace {

double ParseNumber(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) {
    Fail(InvalidArgument(flag + ": '" + text + "' is not a number"));
  }
  return v;
}

std::vector<double> ParseList(const std::string& flag, const std::string& text, char sep) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, sep)) out.push_back(ParseNumber(flag, part));
  return out;
}

int64_t ParseCount(const std::string& flag, const std::string& text) {
  const double v = ParseNumber(flag, text);
  // 2^53: the largest count a double (and so every statistic computed from it) holds exactly.
  constexpr double kMaxCount = 9007199254740992.0;
  if (v < 0 || v != std::floor(v) || v > kMaxCount) {
    Fail(InvalidArgument(flag + ": '" + text + "' must be a whole number between 0 and 9007199254740992 (2^53)"));
  }
  return static_cast<int64_t>(v);
}

struct StatsFlags {
  std::string a, b, counts, weights;
  double alpha = 0.05, baseline = 0, mde = 0, power = 0.8;
  bool json = false;
  std::string experiment_file, users_file, db;
};

void PrintResult(const nlohmann::json& j, bool json) {
  if (json) {
    PrintJsonLine(DumpJson(j));
    return;
  }
  for (const auto& [key, value] : j.items()) std::printf("%-12s %s\n", key.c_str(), DumpJson(value).c_str());
}

}  // namespace

void AddStatsCommands(CLI::App& app) {
  auto f = std::make_shared<StatsFlags>();
  auto* stats = app.add_subcommand("stats", "Statistical tests for experiment results (two-sided; diff = b - a)");
  stats->require_subcommand(1);

  auto* prop = stats->add_subcommand("proportions", "Two-proportion z-test (pooled); Wald interval of the difference");
  prop->add_option("--a", f->a, "Control successes/units, e.g. 120/1000")->required();
  prop->add_option("--b", f->b, "Treatment successes/units, e.g. 150/1000")->required();
  prop->add_option("--alpha", f->alpha, "Significance level")->capture_default_str();
  prop->add_flag("--json", f->json, "Print one JSON object");
  prop->callback([f] {
    auto parse = [](const std::string& flag, const std::string& text) {
      const auto slash = text.find('/');
      if (slash == std::string::npos) Fail(InvalidArgument(flag + ": write successes/units, e.g. 120/1000"));
      return std::make_pair(ParseCount(flag, text.substr(0, slash)), ParseCount(flag, text.substr(slash + 1)));
    };
    const auto [xa, na] = parse("--a", f->a);
    const auto [xb, nb] = parse("--b", f->b);
    auto r = experiment::TwoProportionTest(xa, na, xb, nb, f->alpha);
    if (!r.ok()) Fail(r.status());
    // Undefined statistics are NaN, printed as null, with the reason under "undefined".
    nlohmann::json j = {{"z", r->z},           {"p_value", r->p_value},   {"diff", r->diff},
                        {"ci_low", r->ci_low}, {"ci_high", r->ci_high},   {"rel_lift", r->rel_lift},
                        {"rel_ci_low", r->rel_ci_low}, {"rel_ci_high", r->rel_ci_high}};
    if (!r->undefined.empty()) j["undefined"] = r->undefined;
    PrintResult(j, f->json);
  });

  auto* means = stats->add_subcommand("means", "Welch's t-test from summary statistics");
  means->add_option("--a", f->a, "Control MEAN,SD,N")->required();
  means->add_option("--b", f->b, "Treatment MEAN,SD,N")->required();
  means->add_option("--alpha", f->alpha, "Significance level")->capture_default_str();
  means->add_flag("--json", f->json, "Print one JSON object");
  means->callback([f] {
    const auto a = ParseList("--a", f->a, ','), b = ParseList("--b", f->b, ',');
    if (a.size() != 3 || b.size() != 3) Fail(InvalidArgument("--a and --b take MEAN,SD,N, e.g. 10.2,3.1,500"));
    auto r = experiment::WelchTest(a[0], a[1], a[2], b[0], b[1], b[2], f->alpha);
    if (!r.ok()) Fail(r.status());
    PrintResult({{"t", r->t}, {"df", r->df}, {"p_value", r->p_value}, {"diff", r->diff}, {"ci_low", r->ci_low},
                 {"ci_high", r->ci_high}},
                f->json);
  });

  auto* srm = stats->add_subcommand("srm", "Sample-ratio mismatch: chi-square of counts against weights");
  srm->add_option("--counts", f->counts, "Units per arm, e.g. 5032,4968")->required();
  srm->add_option("--weights", f->weights, "Configured weights, e.g. 0.5,0.5")->required();
  srm->add_flag("--json", f->json, "Print one JSON object");
  srm->callback([f] {
    const auto counts = ParseList("--counts", f->counts, ','), weights = ParseList("--weights", f->weights, ',');
    auto r = experiment::SampleRatioMismatch(counts, weights);
    if (!r.ok()) Fail(r.status());
    PrintResult({{"chi2", r->chi2}, {"p_value", r->p_value}, {"mismatch", r->mismatch}}, f->json);
  });

  auto* size = stats->add_subcommand("sample-size", "Units per arm to detect a relative change of a rate");
  size->add_option("--baseline", f->baseline, "Control rate, e.g. 0.05")->required();
  size->add_option("--mde", f->mde, "Relative minimum detectable effect, e.g. 0.1 for +10%")->required();
  size->add_option("--alpha", f->alpha, "Significance level (two-sided)")->capture_default_str();
  size->add_option("--power", f->power, "Power")->capture_default_str();
  size->add_flag("--json", f->json, "Print one JSON object");
  size->callback([f] {
    auto n = experiment::SampleSizePerArm(f->baseline, f->mde, f->alpha, f->power);
    if (!n.ok()) Fail(n.status());
    PrintResult({{"n_per_arm", *n}}, f->json);
  });

  auto* assign = app.add_subcommand("assign", "Assign users to an experiment's arms (GrowthBook-compatible)");
  assign->add_option("--experiment", f->experiment_file, "Experiment definition (YAML or JSON)")->required();
  assign->add_option("--users", f->users_file, "File with one user id per line")->required();
  assign->add_option("--db", f->db, "Use and record sticky assignments in this database (when the experiment is sticky)");
  assign->add_flag("--json", f->json, "One JSON object per user: user, hash, arm, arm_index, in_experiment");
  assign->callback([f] {
    auto config = experiment::LoadExperimentConfig(f->experiment_file, ModelNames());
    if (!config.ok()) Fail(config.status());
    // Every line is checked before anything is printed or recorded: a bad line fails the whole
    // command with nothing on stdout.
    auto text = ReadFileBounded(f->users_file, kMaxUsersFileBytes, "--users file");
    if (!text.ok()) Fail(text.status());
    std::vector<std::string> users;
    {
      std::istringstream in(*text);
      std::string line;
      int64_t line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::string where = f->users_file + ":" + std::to_string(line_no);
        if (line.empty()) Fail(InvalidArgument(where + ": empty user id; remove the blank line"));
        if (Status s = CheckText(line, where + ": user id"); !s.ok()) Fail(s);
        users.push_back(std::move(line));
      }
    }
    std::vector<std::pair<std::string, int>> existing;
    std::unique_ptr<storage::Database> db;
    if (!f->db.empty() && config->sticky) {
      auto opened = storage::Database::Open(f->db);
      if (!opened.ok()) Fail(opened.status());
      db = std::move(opened).value();
      auto loaded = storage::RolloutStore(*db).LoadSticky(config->name, config->bucket_version);
      if (!loaded.ok()) Fail(loaded.status());
      existing = std::move(loaded).value();
    }
    experiment::StickyAssigner sticky(experiment::Assigner(*config), std::move(existing));
    for (const std::string& user : users) {
      const experiment::Assignment a = config->sticky ? sticky.Assign(user) : sticky.assigner().Assign(user);
      const nlohmann::json arm = a.in_experiment ? nlohmann::json(config->arms[static_cast<size_t>(a.arm_index)].name) : nlohmann::json(nullptr);
      if (f->json) {
        PrintJsonLine(DumpJson(nlohmann::json{{"user", user}, {"hash", a.hash}, {"arm", arm}, {"arm_index", a.arm_index},
                                              {"in_experiment", a.in_experiment}}));
      } else {
        std::printf("%s\t%.4f\t%s\n", user.c_str(), a.hash, a.in_experiment ? arm.get<std::string>().c_str() : "-");
      }
    }
    if (db) {
      Status s = storage::RolloutStore(*db).SaveSticky(config->name, config->bucket_version, sticky.TakePending());
      if (!s.ok()) Fail(s);
    }
  });
}

}  // namespace steward::app
