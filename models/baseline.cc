#include "models/baseline.h"

#include <algorithm>
#include <cmath>

namespace steward::models {
namespace {

constexpr double kDayMs = 86'400'000.0;

bool InSorted(const std::vector<int32_t>& sorted, int32_t item) {
  return std::binary_search(sorted.begin(), sorted.end(), item);
}

std::vector<int32_t> SortedCopy(std::span<const int32_t> history) {
  std::vector<int32_t> s(history.begin(), history.end());
  std::sort(s.begin(), s.end());
  return s;
}

}  // namespace

// ---- PopularityIndex ----

PopularityIndex::PopularityIndex(std::shared_ptr<const Catalog> catalog, Options options)
    : catalog_(std::move(catalog)), options_(options), decayed_clicks_(catalog_->items.size(), 0.0) {
  ranked_.resize(catalog_->items.size());
  for (size_t i = 0; i < ranked_.size(); ++i) ranked_[i] = static_cast<int32_t>(i);
  Resort();
}

void PopularityIndex::AddClick(int32_t item, int64_t ts_ms) {
  const double tau = options_.half_life_days * kDayMs / std::log(2.0);
  if (epoch_ms_ < 0) epoch_ms_ = ts_ms;
  double exponent = static_cast<double>(ts_ms - epoch_ms_) / tau;
  if (exponent > 300.0) {  // rebase to keep the stored values finite
    const double factor = std::exp(-exponent);
    for (double& v : decayed_clicks_) v *= factor;
    epoch_ms_ = ts_ms;
    exponent = 0.0;
  }
  decayed_clicks_[static_cast<size_t>(item)] += std::exp(exponent);
  last_ms_ = std::max(last_ms_, ts_ms);
  if (++since_resort_ >= options_.resort_every) Resort();
}

double PopularityIndex::Score(int32_t item) const {
  double clicks = 0.0;
  if (epoch_ms_ >= 0) {
    const double tau = options_.half_life_days * kDayMs / std::log(2.0);
    clicks = decayed_clicks_[static_cast<size_t>(item)] * std::exp(-static_cast<double>(last_ms_ - epoch_ms_) / tau);
  }
  return options_.prior_weight * catalog_->items[static_cast<size_t>(item)].prior_popularity + 2.0 * std::log1p(clicks);
}

const std::vector<int32_t>& PopularityIndex::Ranked() { return ranked_; }

void PopularityIndex::Resort() {
  since_resort_ = 0;
  std::vector<double> scores(ranked_.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = Score(static_cast<int32_t>(i));
  std::stable_sort(ranked_.begin(), ranked_.end(), [&](int32_t a, int32_t b) {
    return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
  });
}

// ---- PopularityRecommender ----

PopularityRecommender::PopularityRecommender(std::shared_ptr<const Catalog> catalog, PopularityIndex::Options options)
    : catalog_(catalog), popularity_(catalog, options) {}

Recommendation PopularityRecommender::Recommend(const RecommendRequest& request) {
  const std::vector<int32_t> seen = SortedCopy(request.history);
  Recommendation rec;
  for (int32_t item : popularity_.Ranked()) {
    if (static_cast<int>(rec.items.size()) >= request.k) break;
    if (catalog_->items[static_cast<size_t>(item)].available_from_ms > request.ts_ms) continue;
    if (InSorted(seen, item) || !Allowed(request, item)) continue;
    rec.items.push_back({item, popularity_.Score(item), 1.0});
  }
  return rec;
}

void PopularityRecommender::Observe(const FeedbackSignal& signal) {
  if (signal.clicked) popularity_.AddClick(signal.item, signal.ts_ms);
}

// ---- CooccurrenceRecommender ----

CooccurrenceRecommender::CooccurrenceRecommender(std::shared_ptr<const Catalog> catalog, Options options)
    : catalog_(catalog),
      options_(options),
      popularity_(catalog, options.popularity),
      co_(catalog->items.size()),
      scratch_scores_(catalog->items.size(), 0.0) {}

double CooccurrenceRecommender::Cooccurrence(int32_t a, int32_t b) const {
  const auto& row = co_[static_cast<size_t>(a)];
  auto it = row.find(b);
  return it == row.end() ? 0.0 : it->second;
}

void CooccurrenceRecommender::Observe(const FeedbackSignal& signal) {
  if (!signal.clicked) return;
  popularity_.AddClick(signal.item, signal.ts_ms);
  const size_t n = signal.history.size();
  const size_t from = n > static_cast<size_t>(options_.history_window) ? n - static_cast<size_t>(options_.history_window) : 0;
  for (size_t h = from; h < n; ++h) {
    const int32_t other = signal.history[h];
    if (other == signal.item) continue;
    co_[static_cast<size_t>(other)][signal.item] += 1.0f;
    co_[static_cast<size_t>(signal.item)][other] += 1.0f;
  }
}

Recommendation CooccurrenceRecommender::Recommend(const RecommendRequest& request) {
  const std::vector<int32_t> seen = SortedCopy(request.history);
  const size_t n = request.history.size();
  const size_t from = n > static_cast<size_t>(options_.query_items) ? n - static_cast<size_t>(options_.query_items) : 0;
  scratch_touched_.clear();
  for (size_t h = from; h < n; ++h) {
    for (const auto& [item, count] : co_[static_cast<size_t>(request.history[h])]) {
      if (scratch_scores_[static_cast<size_t>(item)] == 0.0) scratch_touched_.push_back(item);
      scratch_scores_[static_cast<size_t>(item)] += count;
    }
  }
  std::vector<ScoredItem> candidates;
  candidates.reserve(scratch_touched_.size());
  for (int32_t item : scratch_touched_) {
    const double s = scratch_scores_[static_cast<size_t>(item)];
    scratch_scores_[static_cast<size_t>(item)] = 0.0;
    if (catalog_->items[static_cast<size_t>(item)].available_from_ms > request.ts_ms) continue;
    if (InSorted(seen, item) || !Allowed(request, item)) continue;
    // Ties between co-click counts go to the more popular item.
    candidates.push_back({item, s + 1e-3 * popularity_.Score(item), 1.0});
  }
  const size_t k = static_cast<size_t>(std::max(request.k, 0));
  const size_t take = std::min(k, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take), candidates.end(),
                    [](const ScoredItem& a, const ScoredItem& b) {
                      return a.score > b.score || (a.score == b.score && a.item < b.item);
                    });
  candidates.resize(take);
  Recommendation rec;
  rec.items = std::move(candidates);
  if (rec.items.size() < k) {
    std::vector<int32_t> chosen;
    for (const auto& s : rec.items) chosen.push_back(s.item);
    std::sort(chosen.begin(), chosen.end());
    for (int32_t item : popularity_.Ranked()) {
      if (rec.items.size() >= k) break;
      if (catalog_->items[static_cast<size_t>(item)].available_from_ms > request.ts_ms) continue;
      if (InSorted(seen, item) || InSorted(chosen, item) || !Allowed(request, item)) continue;
      rec.items.push_back({item, popularity_.Score(item), 1.0});
    }
  }
  return rec;
}

// ---- GenreAffinityRecommender ----

GenreAffinityRecommender::GenreAffinityRecommender(std::shared_ptr<const Catalog> catalog, Options options)
    : catalog_(catalog), options_(options), baseline_(catalog, options.baseline), popularity_(catalog, options.baseline.popularity) {}

void GenreAffinityRecommender::Observe(const FeedbackSignal& signal) {
  baseline_.Observe(signal);
  if (signal.clicked) popularity_.AddClick(signal.item, signal.ts_ms);
}

Recommendation GenreAffinityRecommender::Recommend(const RecommendRequest& request) {
  if (request.history.empty()) return baseline_.Recommend(request);
  std::vector<double> genre_share(static_cast<size_t>(std::max(catalog_->num_categories, 1)), 0.0);
  for (int32_t h : request.history) genre_share[static_cast<size_t>(catalog_->items[static_cast<size_t>(h)].category)] += 1.0;
  for (double& g : genre_share) g /= static_cast<double>(request.history.size());

  RecommendRequest wide = request;
  wide.k = std::max(request.k * 3, request.k);
  Recommendation from_baseline = baseline_.Recommend(wide);
  std::vector<int32_t> candidates;
  for (const ScoredItem& s : from_baseline.items) candidates.push_back(s.item);
  int taken = 0;
  const std::vector<int32_t> seen = SortedCopy(request.history);
  for (int32_t item : popularity_.Ranked()) {
    if (taken >= options_.pool) break;
    if (catalog_->items[static_cast<size_t>(item)].available_from_ms > request.ts_ms) continue;
    if (InSorted(seen, item) || !Allowed(request, item)) continue;
    candidates.push_back(item);
    ++taken;
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<ScoredItem> scored;
  scored.reserve(candidates.size());
  for (int32_t item : candidates) {
    const double affinity = genre_share[static_cast<size_t>(catalog_->items[static_cast<size_t>(item)].category)];
    scored.push_back({item, popularity_.Score(item) + options_.affinity_weight * affinity, 1.0});
  }
  const size_t take = std::min(scored.size(), static_cast<size_t>(std::max(request.k, 0)));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(take), scored.end(),
                    [](const ScoredItem& a, const ScoredItem& b) { return a.score > b.score || (a.score == b.score && a.item < b.item); });
  scored.resize(take);
  Recommendation rec;
  rec.items = std::move(scored);
  return rec;
}

// ---- EpsilonGreedyRecommender ----

EpsilonGreedyRecommender::EpsilonGreedyRecommender(std::shared_ptr<const Catalog> catalog,
                                                   std::unique_ptr<Recommender> base, double epsilon, uint64_t seed)
    : catalog_(std::move(catalog)), base_(std::move(base)), epsilon_(epsilon), rng_(seed) {}

std::string EpsilonGreedyRecommender::version() const {
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", epsilon_);
  return base_->version() + "+egreedy(" + eps + ")";
}

Recommendation EpsilonGreedyRecommender::Recommend(const RecommendRequest& request) {
  Recommendation base = base_->Recommend(request);
  const std::vector<int32_t> seen = SortedCopy(request.history);
  // Eligible items: available now and not already clicked.
  size_t available = 0;
  for (const CatalogItem& item : catalog_->items) available += item.available_from_ms <= request.ts_ms ? 1 : 0;
  size_t seen_available = 0;
  for (int32_t s : seen) seen_available += catalog_->items[static_cast<size_t>(s)].available_from_ms <= request.ts_ms ? 1 : 0;
  const size_t eligible = available > seen_available ? available - seen_available : 0;
  if (eligible == 0) return base;

  Recommendation out;
  std::vector<int32_t> used;
  auto is_used = [&](int32_t item) { return std::find(used.begin(), used.end(), item) != used.end(); };
  const double uniform = 1.0 / static_cast<double>(eligible);
  for (size_t p = 0; p < base.items.size(); ++p) {
    const int32_t greedy = base.items[p].item;
    int32_t served = greedy;
    if (rng_.Bernoulli(epsilon_) || is_used(greedy)) {
      for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto candidate = static_cast<int32_t>(rng_.UniformInt(catalog_->items.size()));
        if (catalog_->items[static_cast<size_t>(candidate)].available_from_ms > request.ts_ms) continue;
        if (InSorted(seen, candidate) || is_used(candidate) || !Allowed(request, candidate)) continue;
        served = candidate;
        break;
      }
    }
    used.push_back(served);
    const double propensity = (served == greedy ? (1.0 - epsilon_) : 0.0) + epsilon_ * uniform;
    out.items.push_back({served, served == greedy ? base.items[p].score : 0.0, propensity});
  }
  return out;
}

StatusOr<std::unique_ptr<Recommender>> MakeRecommender(const std::string& name, std::shared_ptr<const Catalog> catalog,
                                                       uint64_t seed) {
  if (name == "popularity") return std::unique_ptr<Recommender>(new PopularityRecommender(catalog));
  if (name == "baseline") return std::unique_ptr<Recommender>(new CooccurrenceRecommender(catalog));
  if (name == "baseline-egreedy") {
    return std::unique_ptr<Recommender>(
        new EpsilonGreedyRecommender(catalog, std::make_unique<CooccurrenceRecommender>(catalog), 0.1, seed));
  }
  if (name == "baseline-genre") return std::unique_ptr<Recommender>(new GenreAffinityRecommender(catalog));
  return InvalidArgument("unknown model '" + name + "'; known models: popularity, baseline, baseline-egreedy, baseline-genre");
}

}  // namespace steward::models
