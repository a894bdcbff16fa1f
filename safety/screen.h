// SafetyScreen: the safety screen every candidate passes before the final ranking (issue #11; paper
// section 5.2). It enforces a SafetyPolicy (policy.h) and a risk scorer's thresholds at serve time:
//
//   blocklist            the item is never shown                                  -> block
//   restricted_category  the item's category is restricted for the user's segment
//                        (the request's attributes)                               -> block
//   frequency_cap        the user was shown the item max_impressions_per_user_item
//                        times in the current cap window (fixed windows of
//                        event time, the same counting as UserPolicyCheck)         -> block
//   risk                 the item's risk score >= block_risk                      -> block
//   risk_demote          block_risk > risk >= demote_risk: moved after every other
//                        item of the list (order among them kept)                 -> demote
//
// As a models::CandidateFilter it refuses blocked items inside the model, so a model fills the list
// from the items it may show; each refusal is recorded in the request's `decisions` (the first
// kMaxFilterDecisions distinct items, the rest counted). Demotion happens after the model returns
// (Demote). The serving pipeline stores RecordJson() with the exposure (storage migration 9), so
// `steward audit` reports blocks, demotions and the served risk per item group, and `steward audit
// sample` shows each item's risk to the reviewer.
//
// Thread safety: Allow, Demote, Risk and RecordJson are const and safe from any thread. NoteServed
// (the cap's impression counts) may be called from any thread; counts are sharded by user, one
// mutex per shard. Memory: at most `max_tracked_users` users' counts are kept; past that the
// counts of users whose windows have all ended are dropped first, then arbitrary users' (their
// cap restarts; documented in safety/README.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "models/recommender.h"
#include "safety/policy.h"

namespace steward::safety {

struct ScreenOptions {
  double block_risk = 0.5;    // risk >= this blocks the item. Default: 0.5
  double demote_risk = 0.2;   // risk >= this (and below block_risk) demotes it. Default: 0.2
  size_t max_tracked_users = 1'000'000;  // users whose cap counts are kept. Default: 1,000,000
};

struct ItemContent;
struct RiskModel;
// The model's score for every catalog item (index order), from the content of the item with the
// same id. Errors (kInvalidArgument): a catalog item with no content (names the first id).
StatusOr<std::vector<double>> ScoreCatalog(const RiskModel& model, const std::vector<ItemContent>& content,
                                           const models::Catalog& catalog);

class SafetyScreen final : public models::CandidateFilter {
 public:
  // `risk`: the scorer's score per catalog index (empty: no scorer; risk rules never fire);
  // `risk_version`: the scorer's version, recorded with each list. Errors (kInvalidArgument): a
  // risk vector of the wrong size or with values outside [0, 1], thresholds outside [0, 1] or
  // demote_risk > block_risk, blocklisted ids not in the catalog.
  static StatusOr<std::shared_ptr<SafetyScreen>> Create(SafetyPolicy policy, std::shared_ptr<const models::Catalog> catalog,
                                                        std::vector<double> risk, std::string risk_version, ScreenOptions options);

  std::string name() const override { return "safety"; }
  bool Allow(const models::RecommendRequest& request, int32_t item) const override;

  // Moves demoted items after the others, keeping each part's order; records a "risk_demote"
  // decision per demoted item in `decisions` (may be null). Returns how many were demoted.
  int Demote(std::vector<models::ScoredItem>& items, std::vector<models::FilterDecision>* decisions) const;

  // Counts one impression of each of `items` (catalog indices) for `user` at `ts_ms` (the cap).
  void NoteServed(int64_t user, std::span<const int32_t> items, int64_t ts_ms);

  bool has_risk() const { return !risk_.empty(); }
  double Risk(int32_t item) const;
  const std::string& risk_version() const { return risk_version_; }
  const SafetyPolicy& policy() const { return policy_; }
  const ScreenOptions& options() const { return options_; }

  // {"v":1,"scorer":"<risk_version>","risk":[per served item],"decisions":[[item_id,"block"|"demote",
  // rule,risk],...],"more":N} — "risk" only with a scorer; item ids from the catalog.
  std::string RecordJson(std::span<const int32_t> served, std::span<const models::FilterDecision> decisions, int more) const;

 private:
  SafetyScreen(SafetyPolicy policy, std::shared_ptr<const models::Catalog> catalog, std::vector<double> risk, std::string risk_version,
               ScreenOptions options);
  int64_t Window(int64_t ts_ms) const;
  // This thread's per-request context (restricted categories, capped items), recomputed when the
  // request or its attributes change, and after this thread's NoteServed.
  const void* Context(const models::RecommendRequest& request) const;
  void Record(const models::RecommendRequest& request, int32_t item, const char* rule, double risk) const;

  struct Shown {
    int32_t item = 0;
    int32_t count = 0;
    int64_t window = 0;
  };
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<int64_t, std::vector<Shown>> users;
  };

  SafetyPolicy policy_;
  std::shared_ptr<const models::Catalog> catalog_;
  std::vector<double> risk_;
  std::string risk_version_;
  ScreenOptions options_;
  std::vector<char> blocked_;  // per catalog index
  bool has_request_rules_ = false;  // segment restrictions or a cap: Allow consults the request context
  std::unique_ptr<std::array<Shard, kShards>> shards_;
};

}  // namespace steward::safety
