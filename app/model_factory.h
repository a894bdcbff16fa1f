// Builds any model by name for the commands that serve the simulated world (demo, simulate):
// the baseline family through models::MakeRecommender, and the hybrid, which also needs every
// book's content features (author, language, decade, title tokens, popularity bucket, genre).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/goodbooks.h"
#include "experiment/experiment_config.h"
#include "models/embedding.h"
#include "models/exposure_constraint.h"
#include "models/recommender.h"
#include "sim/world.h"

namespace steward::app {

// Content features of the world's books, hashed into `buckets` inputs (the MLP's first layer).
std::vector<models::SparseFeatures> BookFeatures(const std::vector<data::Book>& books, const sim::World& world, int buckets);

// Per-model options an experiment arm can set.
struct ModelOptions {
  // The hybrid's provider-group exposure constraint (models/hybrid.h); only the hybrid has one, so
  // any other model with a constraint is an error. Default: none.
  std::optional<models::ExposureConstraintOptions> exposure_constraint;
  // baseline-egreedy's exploration share; any other model with one is an error. Default: none
  // (the model's own 0.1).
  std::optional<double> epsilon;
};

// "hybrid" or any name MakeRecommender knows. `seed` drives the model's randomness.
StatusOr<std::unique_ptr<models::Recommender>> MakeModel(const std::string& name, std::shared_ptr<const models::Catalog> catalog,
                                                         const std::vector<data::Book>& books, const sim::World& world,
                                                         uint64_t seed, ModelOptions options = {});
const std::vector<std::string>& ModelNames();

// The model options an experiment arm asks for (`fairness_constraint`, `epsilon`).
ModelOptions ArmModelOptions(const experiment::ArmConfig& arm);

}  // namespace steward::app
