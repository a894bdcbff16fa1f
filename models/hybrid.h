// The hybrid recommender (the paper's sections 2-4): metric-learning embeddings retrieve candidates
// from a FAISS index, disjoint LinUCB re-scores them in context, and a diversity-aware re-ranker
// builds the list with an exploration share.
//
// Serving a request:
//  1. user vector q = normalised mean embedding of the user's last 10 clicks (none for a new user);
//  2. candidates = the `candidates` nearest items to q (FAISS) + the `popular_candidates` most
//     popular items (cold users get popularity and context only), minus read, unreleased and
//     filtered items;
//  3. context x (d = 78, models/context.h) from time, user features and q, z-scored and clipped;
//  4. score_i = similarity_weight * cos(q, e_i) + popularity_weight * popularity_i
//              + category_weight * (share of the user's clicks in i's category)
//              + bandit_mean_weight * theta_i.x + bandit_weight * alpha * width_i(x)   (LinUCB);
//  5. re-rank by MMR: argmax lambda * score_i - (1 - lambda) * max_{j in list} cos(e_i, e_j), with at
//     most `max_per_category` items per category;
//  5b. with an exposure constraint (`exposure_constraint`, models/exposure_constraint.h), each MMR
//     pick is first checked against the provider groups' cumulative position-weighted exposure:
//     when the constraint asks for other groups, the best MMR candidate of an allowed group is
//     placed instead; the served list (after exploration) is committed to the constraint; the
//     candidates then also hold each provider group's `constraint_candidates_per_group` most
//     popular eligible items;
//  6. exploration: each slot after the first is, with probability `exploration_share`, given to an
//     item drawn uniformly from the retrieved candidates the ranking left out (without replacement),
//     unless the user's session (30 minutes of event time) already holds `session_exploration_cap`
//     exploratory items per item shown. Propensities for this mixture: (1 - p) for a ranked item,
//     p / (pool size) for an explored one.
// Learning:
//  - per interaction: LinUCB updates for the shown items (clicked: 1; not clicked: 0, for the first
//    5 positions only, since deeper ones are rarely examined);
//  - every `retrain_interval_ms` of event time, when at least `retrain_min_pairs` new co-click pairs
//    arrived, a copy of the embedding model is fine-tuned in a background thread on all pairs so
//    far (drawn uniformly, or weighted by `retrain_weighting`: IPS or balanced, models/retrain.h),
//    and re-embeds the items and builds a new index there too; at the next tick the three are
//    swapped in with a new version, so serving never waits for training or re-embedding (in
//    simulation the swap time is fixed in event time, which keeps runs deterministic).
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/rng.h"
#include "models/bandit.h"
#include "models/baseline.h"
#include "models/context.h"
#include "models/embedding.h"
#include "models/exposure_constraint.h"
#include "models/recommender.h"
#include "models/retrain.h"
#include "models/vector_index.h"

namespace steward::models {

struct HybridOptions {
  int candidates = 200;
  int popular_candidates = 50;
  std::string index_factory = "Flat";
  double similarity_weight = 6.0;
  double popularity_weight = 0.3;
  double bandit_weight = 0.1;   // scales LinUCB's exploration bonus alpha * width (x has unit length)
  double bandit_mean_weight = 20.0;  // scales LinUCB's mean theta.x, an estimate of the click rate
  double category_weight = 3.0;      // scales the share of the user's clicks in the item's category
  double mmr_lambda = 0.9;
  int max_per_category = 2;
  double exploration_share = 0.10;          // the paper's 10-15% band
  double session_exploration_cap = 0.12;    // at most 12% experimental items per session
  int64_t session_gap_ms = 30 * 60 * 1000;
  int64_t retrain_interval_ms = 15 * 60 * 1000;
  int retrain_min_pairs = 100;
  int retrain_steps = 10;
  // How the logged pairs are weighted when fine-tuning (models/retrain.h). Default: plain.
  RetrainWeighting retrain_weighting = RetrainWeighting::kPlain;
  double retrain_ips_clip = 0.05;  // ips: propensities below this count as this. Default: 0.05
  EmbeddingOptions embedding;  // layers [1024, 512, 256, 128]; batch set to 256 for fine-tuning
  BanditOptions bandit;        // LinUCB, alpha 1.5, d = 78
  // Serving-time exposure constraint over the catalog items' provider groups. Default: none. Empty
  // targets mean the catalog share of each provider group.
  std::optional<ExposureConstraintOptions> exposure_constraint;
  // With a constraint: the most popular eligible items of each provider group also join the
  // candidates, so a cold user's list (popularity candidates only, mostly head items) can still be
  // corrected. Default: 20.
  int constraint_candidates_per_group = 20;
  uint64_t seed = 1;
};

class HybridRecommender : public Recommender {
 public:
  // Checks the options against the catalog (today: the exposure constraint's targets and tolerance;
  // errors name the field, e.g. "exposure_constraint.targets must sum to 1"). The constructor
  // throws std::invalid_argument on options this rejects, so check first.
  static Status CheckOptions(const Catalog& catalog, const HybridOptions& options);
  HybridRecommender(std::shared_ptr<const Catalog> catalog, std::vector<SparseFeatures> item_features, HybridOptions options);
  ~HybridRecommender() override;
  std::string name() const override { return "hybrid"; }
  std::string version() const override;
  Recommendation Recommend(const RecommendRequest& request) override;
  void Observe(const FeedbackSignal& signal) override;
  void ObserveList(const ListFeedback& feedback) override;

  // Event-time clock tick: starts or swaps in embedding retrains (called before each request).
  void AdvanceTo(int64_t ts_ms) override;
  // Waits for a retrain in flight and swaps it in (end of a simulation).
  void Finish();

  int64_t embedding_version() const { return embedding_version_; }
  const std::vector<float>& item_embeddings() const { return embeddings_; }
  int embedding_dim() const { return embedding_->output_dim(); }
  size_t training_pairs() const { return pairs_.size(); }
  // The exposure constraint (its state and per-request evidence), or null when none is configured.
  const ExposureConstraint* exposure_constraint() const { return constraint_.get(); }

 private:
  // A fine-tuned model with its item embeddings and index, all built off the serving thread.
  struct Trained {
    std::unique_ptr<EmbeddingModel> model;
    std::vector<float> embeddings;
    std::unique_ptr<VectorIndex> index;
  };
  // Embeds every item (centred, unit length) and builds the index: used at construction and, for
  // retrains, inside the background task so a swap is three pointer moves.
  static Trained Embed(std::unique_ptr<EmbeddingModel> model, const std::vector<SparseFeatures>& features,
                       const std::string& index_factory);
  void SwapIn(Trained trained);
  std::vector<float> UserVector(std::span<const int32_t> history) const;

  std::shared_ptr<const Catalog> catalog_;
  std::vector<SparseFeatures> features_;
  HybridOptions options_;
  std::unique_ptr<EmbeddingModel> embedding_;
  std::vector<float> embeddings_;  // items x dim
  std::unique_ptr<VectorIndex> index_;
  int64_t embedding_version_ = 1;
  Bandit bandit_;
  ContextBuilder context_;
  FeatureNormalizer normalizer_;
  PopularityIndex popularity_;
  Rng rng_;
  std::unique_ptr<ExposureConstraint> constraint_;

  // Contexts of recent requests, for the bandit updates when feedback arrives.
  std::unordered_map<int64_t, std::vector<float>> request_context_;
  std::deque<int64_t> request_order_;
  // Sessions: per user, (last request time, items shown, exploratory items shown).
  struct Session {
    int64_t last_ms = 0;
    int shown = 0;
    int explored = 0;
  };
  std::unordered_map<int64_t, Session> sessions_;

  // Dual-velocity training.
  std::vector<std::pair<int32_t, int32_t>> pairs_;
  // Per pair: the positive's exposure propensity when logged (lists showing it / lists served).
  std::vector<double> pair_propensity_;
  std::vector<int64_t> impressions_;  // per item: lists served that showed it
  int64_t lists_served_ = 0;
  size_t pairs_at_last_train_ = 0;
  int64_t next_tick_ms_ = -1;
  std::future<Trained> training_;
};

}  // namespace steward::models
