#include "sim/world.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <map>
#include <numbers>
#include <numeric>

namespace steward::sim {
namespace {

constexpr int64_t kDayMs = 86'400'000;

void Normalize(std::vector<float>& v) {
  double n = 0.0;
  for (float x : v) n += static_cast<double>(x) * x;
  n = std::sqrt(n);
  if (n <= 0.0) return;
  for (float& x : v) x = static_cast<float>(x / n);
}

std::vector<float> Gaussian(Rng& rng, int dim, double scale) {
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = static_cast<float>(rng.Normal() * scale);
  return v;
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

const char* ProviderGroupName(ProviderGroup g) {
  switch (g) {
    case ProviderGroup::kHead: return "head";
    case ProviderGroup::kMid: return "mid";
    case ProviderGroup::kTail: return "tail";
  }
  return "?";
}

const char* AgeBandName(AgeBand b) {
  switch (b) {
    case AgeBand::k18To29: return "18-29";
    case AgeBand::k30To49: return "30-49";
    case AgeBand::k50Plus: return "50+";
  }
  return "?";
}

StatusOr<World> World::Create(const std::vector<data::Book>& books, const WorldConfig& config) {
  if (books.empty()) return InvalidArgument("world: the catalog is empty; load data/goodbooks/books.csv");
  if (config.latent_dim < 2) return InvalidArgument("world: latent_dim must be at least 2");
  if (config.num_categories < 2) return InvalidArgument("world: num_categories must be at least 2");
  if (config.initial_users < 1) return InvalidArgument("world: initial_users must be at least 1");
  if (config.horizon_days < 1) return InvalidArgument("world: horizon_days must be at least 1");
  if (config.new_item_share < 0.0 || config.new_item_share > 0.5) {
    return InvalidArgument("world: new_item_share must be in [0, 0.5]");
  }
  World w(config);
  Rng catalog_rng = w.rng_.Fork(1);
  const int dim = config.latent_dim;
  const int k = config.num_categories;

  for (int c = 0; c < k; ++c) {
    auto centroid = Gaussian(catalog_rng, dim, 1.0);
    Normalize(centroid);
    w.centroids_.push_back(std::move(centroid));
  }

  // Authors: genre, offset, total ratings (for provider groups), in first-seen order.
  struct Author {
    int category = 0;
    std::vector<float> offset;
    int64_t ratings = 0;
    ProviderGroup group = ProviderGroup::kTail;
  };
  std::map<std::string, Author> authors;
  std::vector<std::string> author_order;
  for (const data::Book& b : books) {
    auto [it, inserted] = authors.try_emplace(b.primary_author);
    if (inserted) {
      it->second.category = static_cast<int>(catalog_rng.UniformInt(static_cast<uint64_t>(k)));
      it->second.offset = Gaussian(catalog_rng, dim, 0.35 / std::sqrt(dim));
      author_order.push_back(b.primary_author);
    }
    it->second.ratings += b.ratings_count;
  }
  std::vector<const std::string*> by_ratings;
  int64_t total_ratings = 0;
  for (const auto& name : author_order) {
    by_ratings.push_back(&name);
    total_ratings += authors[name].ratings;
  }
  std::stable_sort(by_ratings.begin(), by_ratings.end(),
                   [&](const std::string* a, const std::string* b) { return authors[*a].ratings > authors[*b].ratings; });
  int64_t cumulative = 0;
  for (const std::string* name : by_ratings) {
    Author& a = authors[*name];
    const double share_before = total_ratings > 0 ? static_cast<double>(cumulative) / static_cast<double>(total_ratings) : 1.0;
    a.group = share_before < 0.5 ? ProviderGroup::kHead : (share_before < 0.8 ? ProviderGroup::kMid : ProviderGroup::kTail);
    cumulative += a.ratings;
  }

  // Items.
  double mean_pop = 0.0, sq_pop = 0.0;
  for (const data::Book& b : books) {
    const double p = std::log1p(static_cast<double>(b.ratings_count));
    mean_pop += p;
    sq_pop += p * p;
  }
  mean_pop /= static_cast<double>(books.size());
  const double sd_pop = std::sqrt(std::max(1e-12, sq_pop / static_cast<double>(books.size()) - mean_pop * mean_pop));
  for (const data::Book& b : books) {
    Item item;
    item.id = b.book_id;
    item.title = b.title;
    item.author = b.primary_author;
    item.year = b.year;
    const Author& a = authors[b.primary_author];
    item.category = a.category;
    item.provider = a.group;
    item.popularity = (std::log1p(static_cast<double>(b.ratings_count)) - mean_pop) / sd_pop;
    item.rating = b.average_rating;
    item.released_ms = config.start_ms;
    item.latent = w.centroids_[static_cast<size_t>(a.category)];
    auto noise = Gaussian(catalog_rng, dim, 0.30 / std::sqrt(dim));
    for (int d = 0; d < dim; ++d) item.latent[static_cast<size_t>(d)] += a.offset[static_cast<size_t>(d)] + noise[static_cast<size_t>(d)];
    Normalize(item.latent);
    w.max_item_id_ = std::max(w.max_item_id_, item.id);
    w.items_.push_back(std::move(item));
  }
  // The newest books arrive during the horizon, evenly spaced, oldest first.
  const size_t n_new = static_cast<size_t>(std::floor(config.new_item_share * static_cast<double>(w.items_.size())));
  std::vector<size_t> order(w.items_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return w.items_[a].year > w.items_[b].year;
  });
  const int64_t horizon_ms = static_cast<int64_t>(config.horizon_days) * kDayMs;
  for (size_t r = 0; r < n_new; ++r) {
    const size_t idx = order[n_new - 1 - r];  // oldest of the new ones first
    w.items_[idx].released_ms = config.start_ms + static_cast<int64_t>((static_cast<double>(r) + 0.5) / static_cast<double>(n_new) * static_cast<double>(horizon_ms));
  }
  w.index_by_id_.assign(static_cast<size_t>(w.max_item_id_ + 1), -1);
  for (size_t i = 0; i < w.items_.size(); ++i) w.index_by_id_[static_cast<size_t>(w.items_[i].id)] = static_cast<int32_t>(i);

  w.now_ms_ = config.start_ms;
  w.next_day_ms_ = config.start_ms + kDayMs;
  for (int u = 0; u < config.initial_users; ++u) w.AddUser(config.start_ms, /*is_new=*/false);
  return w;
}

int64_t World::ItemIndex(int64_t item_id) const {
  if (item_id < 0 || item_id > max_item_id_) return -1;
  return index_by_id_[static_cast<size_t>(item_id)];
}

void World::AddUser(int64_t joined_ms, bool is_new) {
  User u;
  u.id = static_cast<int64_t>(users_.size()) + 1;
  u.is_new = is_new;
  u.joined_ms = joined_ms;
  const double band = rng_.Uniform();
  u.age = band < 0.35 ? AgeBand::k18To29 : (band < 0.75 ? AgeBand::k30To49 : AgeBand::k50Plus);
  static constexpr double kPopularitySensitivity[] = {0.5, 0.35, 0.2};
  u.popularity_sensitivity = kPopularitySensitivity[static_cast<int>(u.age)] * (0.75 + 0.5 * rng_.Uniform());
  u.activity = std::exp(0.8 * rng_.Normal());
  const int n_fav = 1 + static_cast<int>(rng_.UniformInt(3));
  u.preference.assign(static_cast<size_t>(config_.latent_dim), 0.0f);
  for (int f = 0; f < n_fav; ++f) {
    const int c = static_cast<int>(rng_.UniformInt(static_cast<uint64_t>(config_.num_categories)));
    u.favourite_categories.push_back(c);
    const double weight = 1.0 / (1.0 + f);
    for (size_t d = 0; d < u.preference.size(); ++d) u.preference[d] += static_cast<float>(weight * centroids_[static_cast<size_t>(c)][d]);
  }
  auto noise = Gaussian(rng_, config_.latent_dim, 0.25 / std::sqrt(config_.latent_dim));
  for (size_t d = 0; d < u.preference.size(); ++d) u.preference[d] += noise[d];
  Normalize(u.preference);
  users_.push_back(std::move(u));
  const double prev = activity_cdf_.empty() ? 0.0 : activity_cdf_.back();
  activity_cdf_.push_back(prev + users_.back().activity);
}

void World::Drift() {
  const double step = config_.drift_per_day / std::sqrt(config_.latent_dim);
  for (User& u : users_) {
    for (float& x : u.preference) x += static_cast<float>(rng_.Normal() * step);
    Normalize(u.preference);
  }
}

void World::AdvanceTo(int64_t ts_ms) {
  if (ts_ms <= now_ms_) return;
  now_ms_ = ts_ms;
  while (now_ms_ >= next_day_ms_) {
    Drift();
    for (int i = 0; i < config_.new_users_per_day; ++i) AddUser(next_day_ms_, /*is_new=*/true);
    next_day_ms_ += kDayMs;
  }
}

Request World::NextRequest(double requests_per_day) {
  // Non-homogeneous Poisson process by thinning: rate(t) = base * (1 + 0.5 sin(2 pi (hour - 14) / 24)),
  // peaking at 20:00 UTC.
  const double base_per_ms = requests_per_day / static_cast<double>(kDayMs);
  const double max_rate = base_per_ms * 1.5;
  int64_t t = now_ms_;
  while (true) {
    t += std::max<int64_t>(1, static_cast<int64_t>(rng_.Exponential(max_rate)));
    const double hour = static_cast<double>((t % kDayMs)) / 3'600'000.0;
    const double rate = base_per_ms * (1.0 + 0.5 * std::sin(2.0 * std::numbers::pi * (hour - 14.0) / 24.0));
    if (rng_.Uniform() * max_rate <= rate) break;
  }
  AdvanceTo(t);
  const double target = rng_.Uniform() * activity_cdf_.back();
  const size_t user = static_cast<size_t>(std::upper_bound(activity_cdf_.begin(), activity_cdf_.end(), target) - activity_cdf_.begin());
  return Request{t, std::min(user, users_.size() - 1)};
}

double World::Examination(int position) const {
  return std::pow(static_cast<double>(std::max(position, 1)), -config_.position_eta);
}

double World::Attraction(size_t user_index, size_t item_index) const {
  const User& u = users_[user_index];
  const Item& it = items_[item_index];
  if (u.consumed.count(it.id)) return 0.0;
  const double x = config_.affinity_weight * Dot(u.preference, it.latent) + u.popularity_sensitivity * it.popularity +
                   config_.rating_weight * (it.rating - 4.0) + config_.click_bias;
  return 1.0 / (1.0 + std::exp(-x));
}

double World::ClickProbability(size_t user_index, size_t item_index, int position) const {
  return Examination(position) * Attraction(user_index, item_index);
}

double World::ListQuality(size_t user_index, std::span<const int32_t> items, int64_t ts_ms) const {
  double served = 0;
  for (size_t p = 0; p < items.size(); ++p) served += ClickProbability(user_index, static_cast<size_t>(items[p]), static_cast<int>(p) + 1);
  // The best list: the top attractions among released items (a bounded min-heap of size k).
  const size_t k = items.size();
  std::vector<double> top;
  top.reserve(k + 1);
  const auto greater = std::greater<double>();
  for (size_t i = 0; i < items_.size() && k > 0; ++i) {
    if (!Available(i, ts_ms)) continue;
    const double a = Attraction(user_index, i);
    if (top.size() < k) {
      top.push_back(a);
      std::push_heap(top.begin(), top.end(), greater);
    } else if (a > top.front()) {
      std::pop_heap(top.begin(), top.end(), greater);
      top.back() = a;
      std::push_heap(top.begin(), top.end(), greater);
    }
  }
  std::sort(top.begin(), top.end(), greater);
  double oracle = 0;
  for (size_t p = 0; p < top.size(); ++p) oracle += Examination(static_cast<int>(p) + 1) * top[p];
  return oracle > 0 ? served / oracle : 1.0;
}

bool World::SimulateClick(size_t user_index, size_t item_index, int position) {
  const bool click = rng_.Bernoulli(ClickProbability(user_index, item_index, position));
  if (click) users_[user_index].consumed.insert(items_[item_index].id);
  return click;
}

bool World::SimulateConversion(size_t item_index) {
  const double p = std::clamp(config_.conversion_base + 0.1 * (items_[item_index].rating - 4.0), 0.0, 1.0);
  return rng_.Bernoulli(p);
}

double World::ItemSimilarity(size_t a, size_t b) const { return Dot(items_[a].latent, items_[b].latent); }

}  // namespace steward::sim
