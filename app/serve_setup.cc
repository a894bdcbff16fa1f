#include "app/serve_setup.h"

#include "app/model_factory.h"
#include "app/paths.h"
#include "app/sim_traffic.h"
#include "common/rng.h"
#include "data/goodbooks.h"
#include "safety/blocklist_filter.h"
#include "sim/world.h"
#include "storage/database.h"
#include "storage/queries.h"

namespace steward::app {

StatusOr<std::function<StatusOr<serving::PipelineSetup>(const std::vector<std::string>&)>> MakeServeSetup(
    const ServeSetupOptions& options) {
  const std::string data_dir = ResolveDataDir(options.data_dir);
  ASSIGN_OR_RETURN(auto loaded, data::LoadGoodbooks(data_dir + "/goodbooks/books.csv"));
  auto books = std::make_shared<const std::vector<data::Book>>(std::move(loaded));
  sim::WorldConfig world_config;
  world_config.seed = options.seed;
  ASSIGN_OR_RETURN(sim::World built, sim::World::Create(*books, world_config));
  auto world = std::make_shared<const sim::World>(std::move(built));
  auto catalog = SimCatalog(*world);

  ASSIGN_OR_RETURN(std::shared_ptr<const safety::BlocklistFilter> blocklist, LoadBlocklist(options.blocklist_file, *catalog));
  ASSIGN_OR_RETURN(std::shared_ptr<safety::SafetyScreen> screen, LoadSafetyScreen(options.screen, *books, catalog));
  {
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path));
    std::vector<storage::CatalogRow> rows;
    for (size_t i = 0; i < catalog->items.size(); ++i) {
      const auto& item = catalog->items[i];
      rows.push_back({item.id, item.category, item.provider_group, item.prior_popularity,
                      screen && screen->has_risk() ? screen->Risk(static_cast<int32_t>(i)) : -1.0});
    }
    RETURN_IF_ERROR(storage::SaveCatalog(*db, rows));
  }
  const uint64_t seed = options.seed;
  const std::string default_model = options.default_model;
  std::function<StatusOr<serving::PipelineSetup>(const std::vector<std::string>&)> builder =
      [=](const std::vector<std::string>& experiments) -> StatusOr<serving::PipelineSetup> {
    serving::PipelineSetup setup;
    setup.catalog = catalog;
    if (blocklist) setup.filters.push_back(blocklist);
    setup.screen = screen;  // one screen for every generation: the frequency cap's counts carry over
    setup.factory = [=](const experiment::ExperimentConfig& config, int arm, const std::string& model) {
      const uint64_t model_seed = arm < 0 ? Mix64(seed + 991) : Mix64(seed + 17 * static_cast<uint64_t>(arm + 1));
      // An arm's options (fairness_constraint, epsilon) apply to the model serving it, not to the shadow model.
      const ModelOptions arm_options = arm >= 0 ? ArmModelOptions(config.arms[static_cast<size_t>(arm)]) : ModelOptions{};
      return MakeModel(model, catalog, *books, *world, model_seed, arm_options);
    };
    if (experiments.empty()) {
      ASSIGN_OR_RETURN(setup.default_model, MakeModel(default_model, catalog, *books, *world, Mix64(seed + 3)));
    }
    return setup;
  };
  return builder;
}

}  // namespace steward::app
