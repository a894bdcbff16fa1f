// Micro-benchmarks of the hot paths (Google Benchmark). Run with `make bench`.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/rng.h"
#include "data/goodbooks.h"
#include "experiment/assigner.h"
#include "experiment/hashing.h"
#include "models/baseline.h"
#include "sim/world.h"

namespace steward {
namespace {

std::vector<std::string> UserIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("user-" + std::to_string(i));
  return ids;
}

void BM_GrowthBookHashV2(benchmark::State& state) {
  const auto ids = UserIds(4096);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(experiment::GrowthBookHash("homepage-recs", ids[i++ & 4095], 2));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GrowthBookHashV2);

void BM_AssignerAssign(benchmark::State& state) {
  experiment::ExperimentConfig config;
  config.name = config.seed = "homepage-recs";
  config.coverage = 0.5;
  config.arms = {{"control", "baseline", 0.5}, {"treatment", "hybrid", 0.5}};
  if (state.range(0)) config.namespace_ = experiment::NamespaceConfig{"layer", 0.0, 0.5};
  experiment::Assigner assigner(config);
  const auto ids = UserIds(4096);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(assigner.Assign(ids[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AssignerAssign)->Arg(0)->Arg(1)->ArgName("namespace");

struct Fixture {
  Fixture() {
    auto books = data::LoadGoodbooks(std::string(STEWARD_DATA_DIR) + "/goodbooks/books.csv").value();
    world = std::make_unique<sim::World>(sim::World::Create(books, sim::WorldConfig()).value());
    auto c = std::make_shared<models::Catalog>();
    c->num_categories = world->config().num_categories;
    for (const auto& item : world->items()) c->items.push_back({item.id, item.category, static_cast<int>(item.provider), item.popularity, 0});
    catalog = c;
  }
  std::unique_ptr<sim::World> world;
  std::shared_ptr<const models::Catalog> catalog;
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void BM_Recommend(benchmark::State& state, const std::string& model_name) {
  Fixture& f = Shared();
  auto model = models::MakeRecommender(model_name, f.catalog, 1).value();
  // Warm the model with 20,000 clicks from simulated users.
  Rng rng(3);
  std::vector<std::vector<int32_t>> history(500);
  for (int i = 0; i < 20000; ++i) {
    auto& h = history[rng.UniformInt(history.size())];
    const auto item = static_cast<int32_t>(rng.UniformInt(2000));
    model->Observe({1, i * 1000LL, item, 1, true, h});
    h.push_back(item);
  }
  size_t u = 0;
  for (auto _ : state) {
    models::RecommendRequest req;
    req.history = history[u++ % history.size()];
    req.k = 10;
    req.ts_ms = 20'000'000;
    benchmark::DoNotOptimize(model->Recommend(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Recommend, popularity, std::string("popularity"));
BENCHMARK_CAPTURE(BM_Recommend, baseline, std::string("baseline"));
BENCHMARK_CAPTURE(BM_Recommend, baseline_egreedy, std::string("baseline-egreedy"));

void BM_SimulateList(benchmark::State& state) {
  Fixture& f = Shared();
  Rng rng(5);
  for (auto _ : state) {
    const auto req = f.world->NextRequest(100000);
    int clicks = 0;
    for (int p = 1; p <= 10; ++p) clicks += f.world->SimulateClick(req.user_index, rng.UniformInt(10000), p);
    benchmark::DoNotOptimize(clicks);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SimulateList);

}  // namespace
}  // namespace steward

BENCHMARK_MAIN();
