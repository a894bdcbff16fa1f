#include "models/hybrid.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <cmath>
#include <stdexcept>

namespace steward::models {
namespace {

constexpr size_t kMaxRememberedRequests = 4096;
constexpr int kHistoryForQuery = 10;
constexpr int kPairWindow = 5;
constexpr int kNegativePositions = 5;

// Dot product of unit vectors (their cosine), vectorised by Eigen.
float Cos(const float* a, const float* b, int d) {
  return Eigen::Map<const Eigen::VectorXf>(a, d).dot(Eigen::Map<const Eigen::VectorXf>(b, d));
}

// The constraint's options with the targets resolved: the configured ones, or the catalog share of
// each provider group.
StatusOr<ExposureConstraint> MakeConstraint(const Catalog& catalog, ExposureConstraintOptions options) {
  std::vector<int> groups;
  groups.reserve(catalog.items.size());
  for (const CatalogItem& item : catalog.items) groups.push_back(item.provider_group);
  const std::vector<double> catalog_shares = GroupShares(groups);
  if (options.targets.empty()) options.targets = catalog_shares;
  if (options.targets.size() < catalog_shares.size()) {
    return InvalidArgument("exposure_constraint.targets names " + std::to_string(options.targets.size()) +
                           " groups, the catalog has " + std::to_string(catalog_shares.size()) + " provider groups");
  }
  auto made = ExposureConstraint::Create(std::move(options));
  if (!made.ok()) return InvalidArgument("exposure_constraint." + made.status().message());
  return made;
}

}  // namespace

Status HybridRecommender::CheckOptions(const Catalog& catalog, const HybridOptions& options) {
  if (!options.exposure_constraint) return Status();
  return MakeConstraint(catalog, *options.exposure_constraint).status();
}

HybridRecommender::HybridRecommender(std::shared_ptr<const Catalog> catalog, std::vector<SparseFeatures> item_features,
                                     HybridOptions options)
    : catalog_(std::move(catalog)),
      features_(std::move(item_features)),
      options_(std::move(options)),
      embedding_(std::make_unique<EmbeddingModel>(options_.embedding)),
      bandit_(options_.bandit),
      context_(options_.embedding.layers.back(), options_.seed ^ 0xc0ffeeULL),
      normalizer_(ContextBuilder::ContinuousMask()),
      popularity_(catalog_, PopularityIndex::Options()),
      rng_(options_.seed) {
  if (options_.exposure_constraint) {
    auto made = MakeConstraint(*catalog_, *options_.exposure_constraint);
    if (!made.ok()) throw std::invalid_argument(made.status().message());
    constraint_ = std::make_unique<ExposureConstraint>(std::move(*made));
  }
  SwapIn(Embed(std::move(embedding_), features_, options_.index_factory));
}

HybridRecommender::~HybridRecommender() {
  if (training_.valid()) training_.wait();
}

std::string HybridRecommender::version() const { return "hybrid@emb" + std::to_string(embedding_version_); }

HybridRecommender::Trained HybridRecommender::Embed(std::unique_ptr<EmbeddingModel> model,
                                                    const std::vector<SparseFeatures>& features,
                                                    const std::string& index_factory) {
  Trained t;
  t.embeddings = model->EmbedAll(features);
  // Centre and re-normalise: a ReLU network maps all inputs into a narrow cone (cosines near 1),
  // which would make every similarity alike; removing the catalog mean keeps what differs.
  std::vector<float>& e = t.embeddings;
  const size_t d = static_cast<size_t>(model->output_dim());
  const size_t n = features.size();
  std::vector<double> mean(d, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) mean[j] += e[i * d + j];
  }
  for (double& m : mean) m /= static_cast<double>(std::max<size_t>(n, 1));
  for (size_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (size_t j = 0; j < d; ++j) {
      e[i * d + j] = static_cast<float>(e[i * d + j] - mean[j]);
      norm += static_cast<double>(e[i * d + j]) * e[i * d + j];
    }
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (size_t j = 0; j < d; ++j) e[i * d + j] = static_cast<float>(e[i * d + j] / norm);
    }
  }
  VectorIndexOptions o;
  o.factory = index_factory;
  t.index = std::move(VectorIndex::Create(model->output_dim(), o).value());
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  if (!t.index->trained()) (void)t.index->Train(e);
  (void)t.index->Add(ids, e);
  t.model = std::move(model);
  return t;
}

void HybridRecommender::SwapIn(Trained trained) {
  embedding_ = std::move(trained.model);
  embeddings_ = std::move(trained.embeddings);
  index_ = std::move(trained.index);
}

std::vector<float> HybridRecommender::UserVector(std::span<const int32_t> history) const {
  const int d = embedding_->output_dim();
  std::vector<float> q;
  if (history.empty()) return q;
  q.assign(static_cast<size_t>(d), 0.0f);
  const size_t from = history.size() > kHistoryForQuery ? history.size() - kHistoryForQuery : 0;
  for (size_t h = from; h < history.size(); ++h) {
    const float* e = &embeddings_[static_cast<size_t>(history[h]) * static_cast<size_t>(d)];
    for (int i = 0; i < d; ++i) q[static_cast<size_t>(i)] += e[i];
  }
  double norm = 0.0;
  for (float v : q) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& v : q) v = static_cast<float>(v / norm);
  }
  return q;
}

void HybridRecommender::AdvanceTo(int64_t ts_ms) {
  if (next_tick_ms_ < 0) next_tick_ms_ = ts_ms + options_.retrain_interval_ms;
  while (ts_ms >= next_tick_ms_) {
    // Swap in the model trained since the last tick (deterministic in event time).
    if (training_.valid()) {
      SwapIn(training_.get());
      ++embedding_version_;
    }
    // Start the next fine-tune when enough new pairs arrived.
    if (pairs_.size() >= pairs_at_last_train_ + static_cast<size_t>(options_.retrain_min_pairs)) {
      pairs_at_last_train_ = pairs_.size();
      auto copy = std::make_unique<EmbeddingModel>(*embedding_);
      training_ = std::async(std::launch::async, [model = std::move(copy), items = &features_, pairs = pairs_,
                                                   steps = options_.retrain_steps, factory = options_.index_factory]() mutable {
        (void)model->Train(*items, pairs, steps);
        return Embed(std::move(model), *items, factory);
      });
    }
    next_tick_ms_ += options_.retrain_interval_ms;
  }
}

void HybridRecommender::Finish() {
  if (training_.valid()) {
    SwapIn(training_.get());
    ++embedding_version_;
  }
}

Recommendation HybridRecommender::Recommend(const RecommendRequest& request) {
  const int d = embedding_->output_dim();
  std::vector<int32_t> seen(request.history.begin(), request.history.end());
  std::sort(seen.begin(), seen.end());
  auto eligible = [&](int32_t item) {
    return catalog_->items[static_cast<size_t>(item)].available_from_ms <= request.ts_ms &&
           !std::binary_search(seen.begin(), seen.end(), item) && Allowed(request, item);
  };

  // 1-2. User vector and candidates.
  const std::vector<float> q = UserVector(request.history);
  std::vector<int32_t> candidates;
  if (!q.empty()) {
    auto near = index_->Search(q, options_.candidates + static_cast<int>(request.history.size()));
    if (near.ok()) {
      for (const Neighbor& nb : *near) {
        if (nb.id >= 0 && eligible(static_cast<int32_t>(nb.id))) candidates.push_back(static_cast<int32_t>(nb.id));
      }
    }
  }
  int popular = 0;
  for (int32_t item : popularity_.Ranked()) {
    if (popular >= options_.popular_candidates) break;
    if (!eligible(item)) continue;
    candidates.push_back(item);
    ++popular;
  }
  if (constraint_ && options_.constraint_candidates_per_group > 0) {
    // Each provider group's most popular eligible items, so every list has something to correct with.
    std::vector<int> per_group(static_cast<size_t>(constraint_->num_groups()), 0);
    int groups_left = constraint_->num_groups();
    for (int32_t item : popularity_.Ranked()) {
      if (groups_left == 0) break;
      const int g = catalog_->items[static_cast<size_t>(item)].provider_group;
      if (g < 0 || g >= constraint_->num_groups() || per_group[static_cast<size_t>(g)] >= options_.constraint_candidates_per_group) continue;
      if (!eligible(item)) continue;
      candidates.push_back(item);
      if (++per_group[static_cast<size_t>(g)] == options_.constraint_candidates_per_group) --groups_left;
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  Recommendation rec;
  if (candidates.empty()) return rec;

  // 3. Context.
  std::vector<float> x(static_cast<size_t>(kContextDim));
  ContextInput in;
  in.ts_ms = request.ts_ms;
  in.user_group = request.user_group;
  in.new_user = request.new_user;
  in.activity = request.activity;
  in.history_length = static_cast<int64_t>(request.history.size());
  in.recent_embedding_mean = q;
  context_.Build(in, x);
  normalizer_.Observe(x);
  normalizer_.Apply(x);
  // Unit length, so the confidence width sqrt(x^T A^-1 x) is at most 1/sqrt(lambda) and the
  // bandit's weight sets the exploration bonus directly.
  double xnorm = 0.0;
  for (float v : x) xnorm += static_cast<double>(v) * v;
  if (xnorm > 0) {
    for (float& v : x) v = static_cast<float>(v / std::sqrt(xnorm));
  }

  // 4. Scores.
  std::vector<int64_t> arms(candidates.begin(), candidates.end());
  std::vector<double> mean, width;
  bandit_.MeanAndWidth(arms, x, mean, width);
  std::vector<double> category_share(static_cast<size_t>(std::max(catalog_->num_categories, 1)), 0.0);
  for (int32_t h : request.history) category_share[static_cast<size_t>(catalog_->items[static_cast<size_t>(h)].category)] += 1.0;
  if (!request.history.empty()) {
    for (double& c : category_share) c /= static_cast<double>(request.history.size());
  }
  std::vector<double> score(candidates.size());
  for (size_t c = 0; c < candidates.size(); ++c) {
    const int32_t item = candidates[c];
    const double sim = q.empty() ? 0.0 : Cos(q.data(), &embeddings_[static_cast<size_t>(item) * static_cast<size_t>(d)], d);
    score[c] = options_.similarity_weight * sim + options_.popularity_weight * popularity_.Score(item) +
               options_.category_weight * category_share[static_cast<size_t>(catalog_->items[static_cast<size_t>(item)].category)] +
               options_.bandit_mean_weight * mean[c] + options_.bandit_weight * options_.bandit.alpha * width[c];
  }

  // 5. MMR re-ranking with per-category caps. Each candidate's redundancy (its highest cosine to
  // an item already in the list) is updated incrementally after every pick: O(k * C * d).
  const int k = request.k;
  std::vector<char> taken(candidates.size(), 0);
  std::vector<float> redundancy(candidates.size(), 0.0f);
  std::vector<int> per_category(static_cast<size_t>(std::max(catalog_->num_categories, 1)), 0);
  std::vector<size_t> chosen;
  auto group_of = [&](size_t c) { return catalog_->items[static_cast<size_t>(candidates[c])].provider_group; };
  // The best MMR candidate among the pickable ones whose group `allowed` admits (all when empty).
  auto best_mmr = [&](const std::vector<char>& allowed) {
    double best = -1e300;
    size_t best_c = candidates.size();
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (taken[c]) continue;
      const int category = catalog_->items[static_cast<size_t>(candidates[c])].category;
      if (per_category[static_cast<size_t>(category)] >= options_.max_per_category) continue;
      if (!allowed.empty()) {
        const int g = group_of(c);
        if (g >= 0 && static_cast<size_t>(g) < allowed.size() && !allowed[static_cast<size_t>(g)]) continue;
      }
      const double mmr = options_.mmr_lambda * score[c] - (1.0 - options_.mmr_lambda) * redundancy[c];
      if (mmr > best) {
        best = mmr;
        best_c = c;
      }
    }
    return best_c;
  };
  std::optional<ExposurePlan> plan;
  if (constraint_) plan.emplace(constraint_->Begin(request.request_id, k));
  std::vector<char> has_group;
  while (static_cast<int>(chosen.size()) < k) {
    size_t best_c = best_mmr({});
    if (best_c == candidates.size()) break;
    if (plan) {
      // 5b. The exposure constraint may hand the position to another provider group.
      has_group.assign(static_cast<size_t>(constraint_->num_groups()), 0);
      for (size_t c = 0; c < candidates.size(); ++c) {
        if (taken[c]) continue;
        const int category = catalog_->items[static_cast<size_t>(candidates[c])].category;
        if (per_category[static_cast<size_t>(category)] >= options_.max_per_category) continue;
        const int g = group_of(c);
        if (g >= 0 && static_cast<size_t>(g) < has_group.size()) has_group[static_cast<size_t>(g)] = 1;
      }
      const int unconstrained_group = group_of(best_c);
      const std::vector<char> allowed = plan->Allowed(unconstrained_group, has_group);
      bool adjusted = false;
      if (unconstrained_group >= 0 && static_cast<size_t>(unconstrained_group) < allowed.size() &&
          !allowed[static_cast<size_t>(unconstrained_group)]) {
        const size_t constrained = best_mmr(allowed);
        if (constrained != candidates.size()) {
          best_c = constrained;
          adjusted = true;
        }
      }
      plan->Place(group_of(best_c), adjusted);
    }
    taken[best_c] = 1;
    ++per_category[static_cast<size_t>(catalog_->items[static_cast<size_t>(candidates[best_c])].category)];
    chosen.push_back(best_c);
    const float* picked = &embeddings_[static_cast<size_t>(candidates[best_c]) * static_cast<size_t>(d)];
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (taken[c]) continue;
      const int category = catalog_->items[static_cast<size_t>(candidates[c])].category;
      if (per_category[static_cast<size_t>(category)] >= options_.max_per_category) continue;  // can no longer be picked
      redundancy[c] = std::max(redundancy[c], Cos(&embeddings_[static_cast<size_t>(candidates[c]) * static_cast<size_t>(d)], picked, d));
    }
  }

  // 6. Exploration slots, within the session cap.
  Session& session = sessions_[request.user_id];
  if (request.ts_ms - session.last_ms > options_.session_gap_ms) session = Session();
  session.last_ms = request.ts_ms;
  // Exploratory items come from the retrieved candidates the ranking left out.
  std::vector<int32_t> pool;
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (!taken[c]) pool.push_back(candidates[c]);
  }
  const double p = pool.empty() ? 0.0 : options_.exploration_share;
  std::vector<int32_t> used;
  for (size_t s = 0; s < chosen.size(); ++s) {
    const int32_t ranked = candidates[chosen[s]];
    const bool may_explore = s > 0 && !pool.empty() && static_cast<double>(session.explored + 1) <=
                                          options_.session_exploration_cap * static_cast<double>(session.shown + static_cast<int>(chosen.size()));
    int32_t served = ranked;
    bool explored = false;
    if (may_explore && rng_.Bernoulli(p)) {
      // Without replacement across the list's exploratory slots.
      const size_t pick = static_cast<size_t>(rng_.UniformInt(pool.size()));
      served = pool[pick];
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
      explored = true;
    }
    used.push_back(served);
    double propensity = 1.0;
    if (may_explore) propensity = explored ? p / static_cast<double>(pool.size() + 1) : 1.0 - p;
    rec.items.push_back({served, explored ? 0.0 : score[chosen[s]], propensity});
    session.explored += explored ? 1 : 0;
  }
  session.shown += static_cast<int>(rec.items.size());
  if (plan) {
    std::vector<int> served_groups;
    for (const ScoredItem& it : rec.items) served_groups.push_back(catalog_->items[static_cast<size_t>(it.item)].provider_group);
    constraint_->Commit(*plan, served_groups);
    // The per-request evidence: the cumulative shares the list was planned against and the
    // positions the constraint gave to another group (docs/hybrid.md).
    const ExposureDecision& decision = plan->decision();
    std::string e = "{\"exposure_constraint\":{\"shares_before\":[";
    char num[32];
    for (size_t g = 0; g < decision.shares_before.size(); ++g) {
      std::snprintf(num, sizeof num, "%s%.4f", g ? "," : "", decision.shares_before[g]);
      e += num;
    }
    e += "],\"adjusted\":[";
    for (size_t a = 0; a < decision.adjusted_positions.size() && a < decision.adjusted_groups.size(); ++a) {
      std::snprintf(num, sizeof num, "%s[%d,%d]", a ? "," : "", decision.adjusted_positions[a], decision.adjusted_groups[a]);
      e += num;
    }
    e += "]}}";
    rec.evidence = std::move(e);
  }

  request_context_[request.request_id] = std::move(x);
  request_order_.push_back(request.request_id);
  while (request_order_.size() > kMaxRememberedRequests) {
    request_context_.erase(request_order_.front());
    request_order_.pop_front();
  }
  return rec;
}

void HybridRecommender::Observe(const FeedbackSignal& signal) {
  if (!signal.clicked) return;
  popularity_.AddClick(signal.item, signal.ts_ms);
  const size_t n = signal.history.size();
  const size_t from = n > kPairWindow ? n - kPairWindow : 0;
  for (size_t h = from; h < n; ++h) {
    if (signal.history[h] != signal.item) pairs_.emplace_back(signal.history[h], signal.item);
  }
}

void HybridRecommender::ObserveList(const ListFeedback& feedback) {
  auto it = request_context_.find(feedback.request_id);
  if (it == request_context_.end()) return;
  for (size_t p = 0; p < feedback.items.size(); ++p) {
    const bool clicked = feedback.clicked[p] != 0;
    if (!clicked && p >= static_cast<size_t>(kNegativePositions)) continue;
    bandit_.Update(feedback.items[p], it->second, clicked ? 1.0 : 0.0);
  }
}

}  // namespace steward::models
