// The baseline ("today's production system"): item-to-item co-occurrence with a popularity
// fallback, learned online from clicks. Also its two building blocks as models of their own
// (popularity alone) and an epsilon-greedy exploration wrapper that logs exact propensities.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/rng.h"
#include "models/recommender.h"

namespace steward::models {

// Click popularity with exponential time decay plus a prior, kept sorted for top-k scans.
class PopularityIndex {
 public:
  struct Options {
    double prior_weight = 1.0;      // weight of CatalogItem::prior_popularity. Default: 1
    double half_life_days = 3.0;    // decay of click counts. Default: 3
    int resort_every = 500;         // re-sort after this many clicks. Default: 500
  };
  PopularityIndex(std::shared_ptr<const Catalog> catalog, Options options);
  void AddClick(int32_t item, int64_t ts_ms);
  double Score(int32_t item) const;
  // Items in descending score order (refreshed every `resort_every` clicks).
  const std::vector<int32_t>& Ranked();

 private:
  void Resort();
  std::shared_ptr<const Catalog> catalog_;
  Options options_;
  std::vector<double> decayed_clicks_;  // in units of exp(ts / tau) relative to epoch_ms_
  int64_t epoch_ms_ = -1;
  int64_t last_ms_ = 0;
  std::vector<int32_t> ranked_;
  int since_resort_ = 0;
};

// Fills `out` up to k from `ranked`, skipping items in `exclude` or not allowed.
class PopularityRecommender : public Recommender {
 public:
  PopularityRecommender(std::shared_ptr<const Catalog> catalog, PopularityIndex::Options options = {});
  std::string name() const override { return "popularity"; }
  std::string version() const override { return "popularity@1"; }
  Recommendation Recommend(const RecommendRequest& request) override;
  void Observe(const FeedbackSignal& signal) override;

 private:
  std::shared_ptr<const Catalog> catalog_;
  PopularityIndex popularity_;
};

class CooccurrenceRecommender : public Recommender {
 public:
  struct Options {
    int history_window = 20;   // recent clicks paired with a new click. Default: 20
    int query_items = 5;       // recent clicks used as queries when recommending. Default: 5
    PopularityIndex::Options popularity;
  };
  CooccurrenceRecommender(std::shared_ptr<const Catalog> catalog, Options options);
  explicit CooccurrenceRecommender(std::shared_ptr<const Catalog> catalog)
      : CooccurrenceRecommender(std::move(catalog), Options()) {}
  std::string name() const override { return "baseline"; }
  std::string version() const override { return "baseline@1"; }
  Recommendation Recommend(const RecommendRequest& request) override;
  void Observe(const FeedbackSignal& signal) override;
  // Co-click count of a pair (symmetric).
  double Cooccurrence(int32_t a, int32_t b) const;

 private:
  std::shared_ptr<const Catalog> catalog_;
  Options options_;
  PopularityIndex popularity_;
  std::vector<std::unordered_map<int32_t, float>> co_;
  std::vector<double> scratch_scores_;
  std::vector<int32_t> scratch_touched_;
};

// The baseline plus genre affinity: candidates are the baseline's (co-occurrence, then popularity)
// widened to the `pool` most popular items; each is scored by its popularity plus
// `affinity_weight` x the share of the user's clicks in the item's category. Users without clicks
// get the baseline's list. Deterministic (propensity 1).
class GenreAffinityRecommender : public Recommender {
 public:
  struct Options {
    int pool = 300;                // popular items considered. Default: 300
    double affinity_weight = 6.0;  // Default: 6
    CooccurrenceRecommender::Options baseline;
  };
  GenreAffinityRecommender(std::shared_ptr<const Catalog> catalog, Options options);
  explicit GenreAffinityRecommender(std::shared_ptr<const Catalog> catalog)
      : GenreAffinityRecommender(std::move(catalog), Options()) {}
  std::string name() const override { return "baseline-genre"; }
  std::string version() const override { return "baseline-genre@1"; }
  Recommendation Recommend(const RecommendRequest& request) override;
  void AddFilter(std::shared_ptr<const CandidateFilter> filter) override {
    baseline_.AddFilter(filter);
    Recommender::AddFilter(std::move(filter));
  }
  void Observe(const FeedbackSignal& signal) override;

 private:
  std::shared_ptr<const Catalog> catalog_;
  Options options_;
  CooccurrenceRecommender baseline_;
  PopularityIndex popularity_;
};

// With probability epsilon each position is replaced by a uniformly random eligible item.
// Propensity of the served item at a position: (1 - eps) * [item is the base model's choice] +
// eps / n_eligible, exact except that a random draw duplicating an item already in the list is
// redrawn (its effect on the propensity is below 1/n_eligible per position).
class EpsilonGreedyRecommender : public Recommender {
 public:
  EpsilonGreedyRecommender(std::shared_ptr<const Catalog> catalog, std::unique_ptr<Recommender> base, double epsilon,
                           uint64_t seed);
  std::string name() const override { return base_->name() + "-egreedy"; }
  std::string version() const override;
  Recommendation Recommend(const RecommendRequest& request) override;
  void AddFilter(std::shared_ptr<const CandidateFilter> filter) override {
    base_->AddFilter(filter);
    Recommender::AddFilter(std::move(filter));
  }
  void Observe(const FeedbackSignal& signal) override { base_->Observe(signal); }

 private:
  std::shared_ptr<const Catalog> catalog_;
  std::unique_ptr<Recommender> base_;
  double epsilon_;
  Rng rng_;
};

// Builds a model by name: "popularity", "baseline", "baseline-egreedy", "baseline-genre".
// Errors name the known ones.
StatusOr<std::unique_ptr<Recommender>> MakeRecommender(const std::string& name, std::shared_ptr<const Catalog> catalog,
                                                       uint64_t seed);

}  // namespace steward::models
