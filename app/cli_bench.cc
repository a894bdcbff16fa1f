#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/ingest_bench.h"
#include "common/rng.h"
#include "experiment/assigner.h"
#include "models/bandit.h"

namespace steward::app {
namespace {

struct BenchFlags {
  IngestBenchOptions ingest;
  std::string sync = "full";
  int64_t users = 1'000'000;
  int dim = 78;
  int64_t arms = 1000;
  int64_t updates = 200000;
  bool json = false;
};

}  // namespace

void AddBenchCommands(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  auto* bench = app.add_subcommand("bench", "Measure performance");
  bench->require_subcommand(1);

  auto* ingest = bench->add_subcommand("ingest", "Durable feedback ingest through the production writer");
  ingest->add_option("--events", flags->ingest.events, "Events to write")->capture_default_str()->check(CLI::PositiveNumber);
  ingest->add_option("--db", flags->ingest.db_path, "Database file (default: a temporary file, removed afterwards)");
  ingest->add_option("--sync", flags->sync, "SQLite synchronous mode: full (survives power loss) or normal (survives kill -9)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  ingest->add_option("--batch", flags->ingest.producer_batch, "Events per producer submit")->capture_default_str()->check(CLI::PositiveNumber);
  ingest->add_flag("--json", flags->json, "Print {\"events\", \"seconds\", \"events_per_sec\"}");
  ingest->callback([flags] {
    IngestBenchOptions o = flags->ingest;
    o.sync = flags->sync == "normal" ? storage::SyncMode::kNormal : storage::SyncMode::kFull;
    o.progress = !flags->json;
    auto r = RunIngestBench(o);
    if (!r.ok()) Fail(r.status());
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"events", r->events}, {"seconds", r->seconds}, {"events_per_sec", r->events_per_sec},
                                   {"sync", flags->sync}, {"batches", r->batches}, {"producer_waits", r->producer_waits},
                                   {"rows_in_db", r->rows_in_db}}.dump());
    } else {
      std::printf("ingested %lld events in %.3f s: %.0f events/s (synchronous=%s, %llu group commits)\n",
                  static_cast<long long>(r->events), r->seconds, r->events_per_sec, flags->sync.c_str(),
                  static_cast<unsigned long long>(r->batches));
    }
  });

  auto* bandit = bench->add_subcommand("bandit", "Disjoint LinUCB: per-interaction updates and candidate scores per second");
  bandit->add_option("--dim", flags->dim, "Context dimension d")->capture_default_str()->check(CLI::Range(1, 1024));
  bandit->add_option("--arms", flags->arms, "Arms (candidate items)")->capture_default_str()->check(CLI::PositiveNumber);
  bandit->add_option("--updates", flags->updates, "Updates to time")->capture_default_str()->check(CLI::PositiveNumber);
  bandit->add_flag("--json", flags->json, "Print {\"updates_per_sec\", \"scores_per_sec\"}");
  bandit->callback([flags] {
    models::BanditOptions o;
    o.dim = flags->dim;
    models::Bandit b(o);
    Rng rng(7);
    const size_t d = static_cast<size_t>(flags->dim);
    // Contexts drawn up front; arms follow a Zipf-like popularity so some are dense, most low rank.
    std::vector<std::vector<float>> contexts(4096, std::vector<float>(d));
    for (auto& x : contexts) {
      for (float& v : x) v = static_cast<float>(rng.Normal() * 0.3);
    }
    auto pick_arm = [&] { return static_cast<int64_t>(std::floor(std::pow(rng.Uniform(), 2.0) * static_cast<double>(flags->arms))); };
    for (int64_t i = 0; i < flags->arms * 5; ++i) b.Update(pick_arm(), contexts[static_cast<size_t>(i) & 4095], rng.Bernoulli(0.05));
    std::vector<int64_t> arm_seq(static_cast<size_t>(flags->updates));
    for (auto& a : arm_seq) a = pick_arm();
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < flags->updates; ++i) {
      b.Update(arm_seq[static_cast<size_t>(i)], contexts[static_cast<size_t>(i) & 4095], (i % 20) == 0 ? 1.0 : 0.0);
    }
    const double update_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<int64_t> candidates(static_cast<size_t>(flags->arms));
    for (size_t i = 0; i < candidates.size(); ++i) candidates[i] = static_cast<int64_t>(i);
    std::vector<double> scores;
    int64_t scored = 0;
    start = std::chrono::steady_clock::now();
    double elapsed = 0.0;
    for (int r = 0; elapsed < 1.0; ++r) {
      b.Score(candidates, contexts[static_cast<size_t>(r) & 4095], scores);
      scored += static_cast<int64_t>(candidates.size());
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double updates_per_sec = static_cast<double>(flags->updates) / update_s;
    const double scores_per_sec = static_cast<double>(scored) / elapsed;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"updates_per_sec", updates_per_sec}, {"scores_per_sec", scores_per_sec}, {"dim", flags->dim},
                                   {"arms", flags->arms}, {"updates", flags->updates}}.dump());
    } else {
      std::printf("d=%d, %lld arms: %.0f updates/s, %.0f candidate scores/s\n", flags->dim, static_cast<long long>(flags->arms),
                  updates_per_sec, scores_per_sec);
    }
  });

  auto* assign = bench->add_subcommand("assign", "One-thread assignment throughput (GrowthBook hash v2, 2 arms)");
  assign->add_option("--users", flags->users, "Distinct user ids to assign")->capture_default_str()->check(CLI::PositiveNumber);
  assign->add_flag("--json", flags->json, "Print {\"assignments_per_sec\": r}");
  assign->callback([flags] {
    experiment::ExperimentConfig config;
    config.name = config.seed = "bench-assign";
    config.arms = {{"control", "baseline", 0.5}, {"treatment", "hybrid", 0.5}};
    const experiment::Assigner assigner(config);
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(flags->users));
    for (int64_t i = 0; i < flags->users; ++i) ids.push_back("user-" + std::to_string(i));
    int64_t checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& id : ids) checksum += assigner.Assign(id).arm_index;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(flags->users) / seconds;
    if (flags->json) {
      PrintJsonLine(nlohmann::json{{"assignments_per_sec", rate}, {"users", flags->users}, {"seconds", seconds},
                                   {"treatment_share", static_cast<double>(checksum) / static_cast<double>(flags->users)}}.dump());
    } else {
      std::printf("%lld assignments in %.3f s: %.0f per second on one thread\n", static_cast<long long>(flags->users), seconds, rate);
    }
  });
}

}  // namespace steward::app
