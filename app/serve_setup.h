// What `steward serve` serves: the bundled catalog (Goodbooks books placed in the simulated
// world's categories and provider groups, so the HTTP service and the demo see the same items) and
// the model factory for every experiment's arms. The HTTP service (server/) gets a builder and
// knows nothing of the data or the models.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "app/sim_traffic.h"
#include "server/service.h"

namespace steward::app {

struct ServeSetupOptions {
  std::string data_dir;        // resolved by ResolveDataDir when empty
  std::string db_path;         // the catalog is saved there (reports read it)
  std::string blocklist_file;  // optional safety blocklist applied to every model
  ScreenFiles screen;          // optional safety screen: policy and risk model (sim_traffic.h)
  uint64_t seed = 42;          // the world's layout and the models' randomness
  std::string default_model = "popularity";  // serves requests outside every experiment
};

// Loads the data once and returns the builder ServiceOptions::pipeline_setup wants.
StatusOr<std::function<StatusOr<serving::PipelineSetup>(const std::vector<std::string>&)>> MakeServeSetup(
    const ServeSetupOptions& options);

}  // namespace steward::app
