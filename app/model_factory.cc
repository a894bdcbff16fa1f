#include "app/model_factory.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/rng.h"
#include "models/baseline.h"
#include "models/hybrid.h"

namespace steward::app {

std::vector<models::SparseFeatures> BookFeatures(const std::vector<data::Book>& books, const sim::World& world, int buckets) {
  models::ItemFeaturizer featurizer(buckets);
  std::vector<models::SparseFeatures> out;
  for (size_t i = 0; i < books.size(); ++i) {
    const data::Book& b = books[i];
    std::vector<std::string> tokens;
    std::string token;
    for (char c : b.title + " ") {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        token.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      } else if (!token.empty()) {
        if (token.size() > 2) tokens.push_back(token);
        token.clear();
      }
    }
    const double pop = world.items()[i].popularity;
    const std::string bucket = std::to_string(static_cast<int>(std::floor(std::clamp(pop, -3.0, 3.0))));
    std::vector<models::ItemFeaturizer::Field> fields = {
        {"author", {b.primary_author}},
        {"language", {b.language.empty() ? "unknown" : b.language}},
        {"decade", {b.has_year ? std::to_string(b.year / 10 * 10) : "unknown"}},
        {"title", tokens},
        {"popularity", {bucket}},
        {"genre", {std::to_string(world.items()[i].category)}},
    };
    out.push_back(featurizer.Featurize(fields));
  }
  return out;
}

ModelOptions ArmModelOptions(const experiment::ArmConfig& arm) {
  ModelOptions options;
  options.epsilon = arm.epsilon;
  if (!arm.fairness_constraint) return options;
  models::ExposureConstraintOptions o;
  o.tolerance = arm.fairness_constraint->tolerance;
  o.targets = arm.fairness_constraint->targets;  // head, mid, tail = provider groups 0, 1, 2
  options.exposure_constraint = std::move(o);
  return options;
}

const std::vector<std::string>& ModelNames() {
  static const std::vector<std::string> names = {"baseline", "hybrid", "popularity", "baseline-genre", "baseline-egreedy"};
  return names;
}

StatusOr<std::unique_ptr<models::Recommender>> MakeModel(const std::string& name, std::shared_ptr<const models::Catalog> catalog,
                                                         const std::vector<data::Book>& books, const sim::World& world,
                                                         uint64_t seed, ModelOptions options) {
  if (options.epsilon && name != "baseline-egreedy") {
    return InvalidArgument("epsilon applies only to baseline-egreedy, not '" + name + "'");
  }
  if (name != "hybrid") {
    if (options.exposure_constraint) return InvalidArgument("an exposure constraint needs the hybrid model, not '" + name + "'");
    if (options.epsilon) {
      if (!(*options.epsilon >= 0.0 && *options.epsilon <= 1.0)) return InvalidArgument("epsilon must be in [0, 1]");
      return std::unique_ptr<models::Recommender>(std::make_unique<models::EpsilonGreedyRecommender>(
          catalog, std::make_unique<models::CooccurrenceRecommender>(catalog), *options.epsilon, seed));
    }
    return models::MakeRecommender(name, std::move(catalog), seed);
  }
  if (books.size() != catalog->items.size()) {
    return FailedPrecondition("the hybrid needs one book per catalog item (" + std::to_string(books.size()) + " books, " +
                              std::to_string(catalog->items.size()) + " items)");
  }
  models::HybridOptions ho;
  ho.seed = Mix64(seed + 101);
  ho.embedding.seed = Mix64(seed + 202);
  ho.embedding.batch = 256;  // fine-tuning batches while serving
  ho.bandit.seed = Mix64(seed + 303);
  ho.exposure_constraint = std::move(options.exposure_constraint);
  RETURN_IF_ERROR(models::HybridRecommender::CheckOptions(*catalog, ho));
  const int buckets = ho.embedding.layers.front();
  return std::unique_ptr<models::Recommender>(
      std::make_unique<models::HybridRecommender>(std::move(catalog), BookFeatures(books, world, buckets), ho));
}

}  // namespace steward::app
