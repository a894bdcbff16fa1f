// World: a deterministic simulated population of readers over the real goodbooks-10k catalog.
// It is the ground truth for the demo and for experiments: it knows every user's true preference,
// so it can say what a click would have been and which items are truly similar.
//
// The model and its calibration are documented in docs/simulator.md. In short:
// - items: the catalog's books; K latent categories (genres) assigned per primary author, so an
//   author's books share a genre; a latent vector = genre centroid + author offset + book noise;
//   a popularity prior from log(ratings_count); provider groups head/mid/tail by the authors'
//   share of all ratings (top 50% of ratings mass, next 30%, rest).
// - new items: the newest books (by original publication year) are held back and released at
//   evenly spaced times over the horizon (item cold start).
// - users: 1-3 favourite genres, an age band (18-29, 30-49, 50+) that sets how much they follow
//   popularity, an activity level; new users arrive every day (user cold start).
// - clicks: position-based model. P(click) = examination(position) * attraction(user, item), with
//   examination = position^-eta and eta = ln 2.7 / ln 5, so position 1 is 2.7x position 5 (the
//   paper's figure); attraction = sigmoid(a*cos(u, v) + b_user*popularity + c*(rating - 4) + bias).
//   A book once clicked (read) is not clicked again.
// - drift: each simulated day every preference vector takes a small random step.
//
// Thread safety: none; one World per simulation thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "common/status.h"
#include "data/goodbooks.h"

namespace steward::sim {

enum class ProviderGroup : int { kHead = 0, kMid = 1, kTail = 2 };
enum class AgeBand : int { k18To29 = 0, k30To49 = 1, k50Plus = 2 };
const char* ProviderGroupName(ProviderGroup g);
const char* AgeBandName(AgeBand b);

struct WorldConfig {
  uint64_t seed = 42;
  int latent_dim = 16;          // Default: 16
  int num_categories = 12;      // K. Default: 12
  int initial_users = 2000;     // Default: 2000
  int new_users_per_day = 40;   // Default: 40
  double new_item_share = 0.05; // newest books released during the horizon. Default: 0.05
  int horizon_days = 14;        // Default: 14
  int64_t start_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  double drift_per_day = 0.05;  // std-dev of the daily preference step. Default: 0.05
  // Click model (docs/simulator.md explains the calibration).
  double position_eta = 0.6171;    // ln(2.7)/ln(5)
  double affinity_weight = 3.0;    // a
  double rating_weight = 1.0;      // c
  double click_bias = -6.0;
  double conversion_base = 0.15;   // P(conversion | click) at rating 4
};

struct Item {
  int64_t id = 0;  // = goodbooks book_id
  std::string title;
  std::string author;
  int32_t year = 0;
  int category = 0;
  ProviderGroup provider = ProviderGroup::kTail;
  double popularity = 0.0;  // z-scored log(1 + ratings_count)
  double rating = 0.0;
  int64_t released_ms = 0;  // when it becomes available (start_ms for the initial catalog)
  std::vector<float> latent;  // unit vector
};

struct User {
  int64_t id = 0;
  AgeBand age = AgeBand::k30To49;
  bool is_new = false;     // arrived during the simulation
  int64_t joined_ms = 0;
  double activity = 1.0;   // relative request rate
  double popularity_sensitivity = 0.0;  // b_user
  std::vector<int> favourite_categories;
  std::vector<float> preference;  // unit vector; drifts daily
  std::unordered_set<int64_t> consumed;
};

struct Request {
  int64_t ts_ms = 0;
  size_t user_index = 0;
};

class World {
 public:
  static StatusOr<World> Create(const std::vector<data::Book>& books, const WorldConfig& config);

  const WorldConfig& config() const { return config_; }
  const std::vector<Item>& items() const { return items_; }
  const std::vector<User>& users() const { return users_; }
  const Item& item(size_t index) const { return items_[index]; }
  // Item index for an id, or -1.
  int64_t ItemIndex(int64_t item_id) const;
  bool Available(size_t item_index, int64_t ts_ms) const { return items_[item_index].released_ms <= ts_ms; }

  // Advances event time to `ts_ms`: applies daily drift and new-user arrivals for every day boundary
  // crossed. Time never goes backwards.
  void AdvanceTo(int64_t ts_ms);
  // Draws the next request of a traffic stream with `requests_per_day` on average, with a daily
  // cycle (busier in the evening). Advances time.
  Request NextRequest(double requests_per_day);

  // Examination probability of a position (1-based).
  double Examination(int position) const;
  // Attraction of an item to a user in [0, 1]; 0 for an item already consumed.
  double Attraction(size_t user_index, size_t item_index) const;
  double ClickProbability(size_t user_index, size_t item_index, int position) const;
  // Noise-free quality of a served list: its expected clicks (items in position order) divided by
  // those of the best list of the same length for this user at `ts_ms` (the most attractive
  // released, unread items, best first). 1 = the oracle's list; 1 as well when nothing can attract.
  double ListQuality(size_t user_index, std::span<const int32_t> items, int64_t ts_ms) const;
  // Samples a click and records consumption when it happens.
  bool SimulateClick(size_t user_index, size_t item_index, int position);
  bool SimulateConversion(size_t item_index);

  // True cosine similarity of two items' latent vectors.
  double ItemSimilarity(size_t a, size_t b) const;
  int64_t now_ms() const { return now_ms_; }
  Rng& rng() { return rng_; }

 private:
  World(WorldConfig config) : config_(config), rng_(config.seed) {}
  void AddUser(int64_t joined_ms, bool is_new);
  void Drift();

  WorldConfig config_;
  Rng rng_;
  std::vector<Item> items_;
  std::vector<User> users_;
  std::vector<std::vector<float>> centroids_;
  std::vector<double> activity_cdf_;
  int64_t now_ms_ = 0;
  int64_t next_day_ms_ = 0;
  int64_t max_item_id_ = 0;
  std::vector<int32_t> index_by_id_;
};

}  // namespace steward::sim
