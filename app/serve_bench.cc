#include "app/serve_bench.h"

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "app/model_factory.h"
#include "app/paths.h"
#include "app/sim_traffic.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/percentile.h"
#include "common/rng.h"
#include "data/goodbooks.h"
#include "serving/controller.h"
#include "serving/pipeline.h"
#include "sim/world.h"
#include "storage/database.h"

namespace steward::app {

StatusOr<ServeBenchResult> RunServeBench(const ServeBenchOptions& o) {
  if (o.threads < 1) return InvalidArgument("threads must be at least 1");
  if (o.requests < 1) return InvalidArgument("requests must be at least 1");
  if (!(o.rate >= 0)) return InvalidArgument("rate must be zero (unpaced) or positive");
  ASSIGN_OR_RETURN(auto books, data::LoadGoodbooks(ResolveDataDir("") + "/goodbooks/books.csv"));
  ASSIGN_OR_RETURN(sim::World world, sim::World::Create(books, sim::WorldConfig()));
  auto catalog = SimCatalog(world);

  // Two arms of the same model, half the users each (and the same model in shadow).
  const std::string definition = "{\"name\": \"bench-serve\", \"arms\": [{\"name\": \"control\", \"model\": \"" + o.model +
                                 "\", \"weight\": 0.5}, {\"name\": \"treatment\", \"model\": \"" + o.model +
                                 "\", \"weight\": 0.5}]" + (o.shadow ? ", \"shadow\": \"" + o.model + "\"" : std::string()) + "}";
  ASSIGN_OR_RETURN(ConfigNode node, ConfigNode::Parse(definition, "bench serve"));
  ASSIGN_OR_RETURN(experiment::ExperimentConfig config, experiment::ParseExperimentConfig(node));
  serving::PipelineSetup setup;
  setup.catalog = catalog;
  ASSIGN_OR_RETURN(setup.screen, LoadSafetyScreen(o.screen, books, catalog));
  setup.experiments = {config.name};
  setup.factory = [&](const experiment::ExperimentConfig&, int arm, const std::string& model) {
    return MakeModel(model, catalog, books, world, static_cast<uint64_t>(arm + 2));
  };
  if (o.db_path.empty()) {
    setup.configs = {config};
  } else {
    // A real control plane: the experiment saved and started in the database.
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(o.db_path));
    serving::RolloutController controller(*db, SystemClock::Default());
    RETURN_IF_ERROR(controller.Create(config, "bench").status());
    ASSIGN_OR_RETURN(auto status, controller.Status(config.name));
    if (status.state == experiment::RolloutState::kDraft) RETURN_IF_ERROR(controller.Start(config.name, "bench", "bench serve"));
    if (o.shadow) RETURN_IF_ERROR(controller.Start(config.name, "bench", "bench serve: serve the arms beside the shadow"));
    setup.db_path = o.db_path;
  }
  ASSIGN_OR_RETURN(auto pipeline, serving::ServingPipeline::Create(std::move(setup)));

  // The traffic, generated before timing.
  std::vector<serving::ServeRequest> requests;
  requests.reserve(static_cast<size_t>(o.requests));
  const double per_day = std::max(1.0, static_cast<double>(o.requests) / 14.0);
  for (int64_t i = 0; i < o.requests; ++i) {
    const sim::Request r = world.NextRequest(per_day);
    requests.push_back(SimServeRequest(world.users()[r.user_index], r.ts_ms, 10, config.name));
  }

  std::vector<std::vector<double>> latencies(static_cast<size_t>(o.threads));
  std::vector<Status> failures(static_cast<size_t>(o.threads));
  const auto start = std::chrono::steady_clock::now();
  const double per_thread_rate = o.rate / o.threads;
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      // Thread-local until the end: the per-thread vectors' headers share a cache line, and
      // updating them from two cores would measure false sharing, not serving.
      std::vector<double> us;
      us.reserve(static_cast<size_t>(o.requests / o.threads + 1));
      struct Publish {
        std::vector<double>& from;
        std::vector<double>& to;
        ~Publish() { to = std::move(from); }
      } publish{us, latencies[static_cast<size_t>(t)]};
      int64_t n = 0;
      // Each thread serves its own contiguous share of the traffic.
      const size_t begin = requests.size() * static_cast<size_t>(t) / static_cast<size_t>(o.threads);
      const size_t end = requests.size() * static_cast<size_t>(t + 1) / static_cast<size_t>(o.threads);
      for (size_t i = begin; i < end; ++i, ++n) {
        if (per_thread_rate > 0) {
          std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                    std::chrono::duration<double>(static_cast<double>(n) / per_thread_rate)));
        }
        const auto t0 = std::chrono::steady_clock::now();
        if (o.assign_only) {
          auto a = pipeline->Assign(requests[i].user_id, config.name);
          us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
          if (!a.ok()) {
            failures[static_cast<size_t>(t)] = a.status();
            return;
          }
        } else {
          auto r = pipeline->Serve(requests[i]);
          us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
          if (!r.ok()) {
            failures[static_cast<size_t>(t)] = r.status();
            return;
          }
          if (r->items.empty()) {
            failures[static_cast<size_t>(t)] = Internal("the pipeline served an empty list");
            return;
          }
          // Every fifth list gets a click (position 1 + i mod 3): the feedback join, the model
          // updates and growing user histories are part of the path measured.
          if (Mix64(i) % 5 == 0) {
            const size_t pos = i % 3;
            if (pos < r->items.size()) {
              (void)pipeline->RecordFeedback({r->request_id, requests[i].ts_ms + 1000, r->items[pos].item_id,
                                              static_cast<int>(pos) + 1, storage::FeedbackKind::kClick, 1.0});
            }
          }
          (void)pipeline->CompleteList(r->request_id);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const Status& s : failures) RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(pipeline->Close());
  std::vector<double> all;
  for (const auto& us : latencies) all.insert(all.end(), us.begin(), us.end());
  ServeBenchResult out;
  out.p50_us = Percentile(all, 0.50);
  out.p99_us = Percentile(all, 0.99);
  out.qps = static_cast<double>(o.requests) / total;
  out.shadow_dropped = pipeline->stats().shadow_dropped;
  return out;
}

}  // namespace steward::app
