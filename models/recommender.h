// The recommender interface every model implements, and the catalog view models see.
// Models know nothing of the simulator: the app builds a Catalog from whatever world or data set
// it runs on.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace steward::models {

struct CatalogItem {
  int64_t id = 0;
  int category = 0;
  int provider_group = 0;
  double prior_popularity = 0.0;  // e.g. z-scored log(ratings); used before any feedback exists
  int64_t available_from_ms = 0;
};

// Items the models may recommend. Immutable once built; shared by all models.
struct Catalog {
  std::vector<CatalogItem> items;  // index = item index used by models
  int num_categories = 0;
};

// Why a filter refused an item for one request (the safety screen logs these with the exposure).
struct FilterDecision {
  int32_t item = 0;        // catalog index
  const char* rule = "";   // static string naming the rule, e.g. "blocklist", "risk"
  double risk = 0.0;       // the item's risk score when the filter has one, else 0
};

struct RecommendRequest {
  int64_t request_id = 0;
  int64_t user_id = 0;
  int64_t ts_ms = 0;
  std::span<const int32_t> history;  // the user's clicked item indices, oldest first
  int k = 10;
  // What the serving system knows about the user (context features; optional).
  int user_group = -1;  // e.g. age band 0..2, -1 unknown
  bool new_user = false;
  double activity = 0.0;
  // User attributes the request carried (segment rules of the safety screen read them); the caller
  // keeps them alive for the call (the shadow runner keeps its own copy).
  std::span<const std::pair<std::string, std::string>> attributes;
  // Where filters record why they refused an item; nullptr: not recorded. Filters append at most
  // kMaxFilterDecisions and count the rest in `decisions_dropped`.
  std::vector<FilterDecision>* decisions = nullptr;
  int* decisions_dropped = nullptr;
};
inline constexpr size_t kMaxFilterDecisions = 32;

struct ScoredItem {
  int32_t item = 0;  // catalog index
  double score = 0.0;
  double propensity = 1.0;  // probability the policy puts this item at this position
};

struct Recommendation {
  std::vector<ScoredItem> items;  // in position order
  // The model's evidence for this list, JSON, stored with the exposure (exposures.evidence); e.g.
  // the hybrid's exposure constraint: {"exposure_constraint":{"shares_before":[..],"adjusted":
  // [[position, group], ...]}}. Empty: none (stored as NULL).
  std::string evidence;
};

// Everything the user did with one served list: per position, whether it was clicked.
struct ListFeedback {
  int64_t request_id = 0;
  int64_t user_id = 0;
  int64_t ts_ms = 0;
  std::span<const int32_t> items;  // in position order
  std::span<const char> clicked;   // same length
};

struct FeedbackSignal {
  int64_t user_id = 0;
  int64_t ts_ms = 0;
  int32_t item = 0;
  int position = 0;
  bool clicked = false;
  std::span<const int32_t> history;  // the user's clicks before this one
};

// Decides whether a candidate may be shown (the safety layer implements this).
class CandidateFilter {
 public:
  virtual ~CandidateFilter() = default;
  virtual std::string name() const = 0;
  // True when the item may be recommended to this request.
  virtual bool Allow(const RecommendRequest& request, int32_t item) const = 0;
};

class Recommender {
 public:
  virtual ~Recommender() = default;
  virtual std::string name() const = 0;
  // "name@version", logged with every exposure.
  virtual std::string version() const = 0;
  // Recommends up to request.k available items the user has not clicked, passing every filter.
  virtual Recommendation Recommend(const RecommendRequest& request) = 0;
  // Learns from one feedback event (online models); default: nothing.
  virtual void Observe(const FeedbackSignal& signal) { (void)signal; }
  // Learns from a whole served list, clicks and non-clicks (bandits); default: nothing. Called
  // after the per-click Observe() calls of the same request.
  virtual void ObserveList(const ListFeedback& feedback) { (void)feedback; }
  // Event time has reached `ts_ms` (models with scheduled work, e.g. the hybrid's retrains, act on
  // it); called before Recommend with the request's time. Default: nothing.
  virtual void AdvanceTo(int64_t ts_ms) { (void)ts_ms; }
  // Screens every item this model returns. Models that wrap or consult other models must pass the
  // filter on to them (override and call the base), or those models' items bypass it.
  virtual void AddFilter(std::shared_ptr<const CandidateFilter> filter) { filters_.push_back(std::move(filter)); }

 protected:
  bool Allowed(const RecommendRequest& request, int32_t item) const {
    for (const auto& f : filters_) {
      if (!f->Allow(request, item)) return false;
    }
    return true;
  }

 private:
  std::vector<std::shared_ptr<const CandidateFilter>> filters_;
};

}  // namespace steward::models
