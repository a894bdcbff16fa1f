#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "data/obd.h"
#include "models/bandit.h"
#include "shadow/replay.h"
#include "app/simulate.h"

namespace steward::app {
namespace {

struct ModelFlags {
  std::string log, policy = "linucb";
  uint64_t seed = 1;
  bool json = false;
};

}  // namespace

void AddModelCommands(CLI::App& app) {
  auto f = std::make_shared<ModelFlags>();
  auto sim = std::make_shared<SimulateOptions>();
  auto* simulate = app.add_subcommand("simulate", "Serve the simulated world with one policy and report quality metrics");
  simulate->add_option("--policy", sim->policy, "baseline, hybrid, popularity or baseline-genre")
      ->capture_default_str()
      ->check(CLI::IsMember({"baseline", "hybrid", "popularity", "baseline-genre", "baseline-egreedy"}));
  simulate->add_option("--users", sim->users, "Users at the start")->capture_default_str()->check(CLI::PositiveNumber);
  simulate->add_option("--days", sim->days, "Simulated days")->capture_default_str()->check(CLI::PositiveNumber);
  simulate->add_option("--seed", sim->seed, "Seed of the world and the policy")->capture_default_str();
  simulate->add_option("--rate", sim->requests_per_user_day, "Requests per user per day")->capture_default_str();
  simulate->add_option("--data", sim->data_dir, "Data directory");
  simulate->add_flag("--json", f->json, "Print one JSON object as the last line");
  simulate->callback([f, sim] {
    SimulateOptions o = *sim;
    o.cancel = &Interrupted();
    auto r = RunSimulation(o);
    if (!r.ok()) Fail(r.status());
    if (f->json) {
      PrintJsonLine(SimulateResultJson(*r));
    } else {
      std::printf("%s: CTR %.4f, diversity %.3f, sequential similarity %.3f, coverage %.3f, gini %.3f, new users %.0f "
                  "interactions to quality, new items %.2f days to signal (%.1f s)\n",
                  r->policy.c_str(), r->ctr, r->diversity_index, r->sequential_similarity, r->coverage, r->gini,
                  r->new_user_interactions_to_quality, r->new_item_days_to_signal, r->seconds);
    }
  });

  auto* replay = app.add_subcommand("replay", "Replay evaluation (Li et al. 2011) of a bandit policy on a uniformly random OBD log");
  replay->add_option("--log", f->log, "OBD log collected by the random policy, e.g. data/obd/random/men/men.csv")->required();
  replay->add_option("--policy", f->policy, "random, egreedy, linucb or lints")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "egreedy", "linucb", "lints", "bts"}));
  replay->add_option("--seed", f->seed, "Seed of the policy's randomness")->capture_default_str();
  replay->add_flag("--json", f->json, "Print {\"matched\", \"clicks\", \"ctr\", \"ci_low\", \"ci_high\", ...}");
  replay->callback([f] {
    auto policy = models::ParsePolicy(f->policy);
    if (!policy.ok()) Fail(policy.status());
    auto log = data::LoadObdLog(f->log);
    if (!log.ok()) Fail(log.status());
    auto r = shadow::Replay(*log, *policy, f->seed);
    if (!r.ok()) Fail(r.status());
    const nlohmann::json j = {{"policy", r->policy}, {"log", f->log},         {"events", r->events}, {"matched", r->matched},
                              {"clicks", r->clicks}, {"ctr", r->ctr},         {"ci_low", r->ci_low}, {"ci_high", r->ci_high},
                              {"seed", f->seed},     {"interval", "wilson95"}};
    if (f->json) {
      PrintJsonLine(j.dump());
    } else {
      std::printf("%s on %s: %lld of %lld events matched, %lld clicks, CTR %.4f (95%% CI %.4f to %.4f)\n", r->policy.c_str(),
                  f->log.c_str(), static_cast<long long>(r->matched), static_cast<long long>(r->events),
                  static_cast<long long>(r->clicks), r->ctr, r->ci_low, r->ci_high);
    }
  });
}

}  // namespace steward::app
