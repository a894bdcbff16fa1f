// A serving-time exposure constraint for re-rankers (issue #12, paper 5.2): keeps each item group's
// cumulative position-weighted exposure, amortised over all lists served so far, within a tolerance
// of its target share.
//
// State: per group g, E_g = sum over served lists and positions p of w(p) for the group's items,
// w(p) = 1/log2(1 + p) (fairness::PositionWeight); share_g = E_g / sum_h E_h
// (fairness::ExposureShares). The targets t_g are given (callers default them to the catalog share
// of each group: docs/metrics.md).
//
// Decision, position by position p = 1..k of a list of k (a deterministic DetConstSort-style
// minimum rule on the running exposure E_g, which includes the positions already placed in the
// list being built; E = sum_g E_g; R = w(p+1) + ... + w(k), the weight still to place after p;
// T = E + w(p) + R, the total once the list is served):
//  1. the re-ranker proposes its unconstrained choice, of group b;
//  2. U = the groups with candidates left that are under-exposed now (t_g - share_g > tolerance).
//     If b is not in U and the weight they need to reach their band by the end of the list,
//     sum_{g in U} max(0, (t_g - tolerance) T - E_g), exceeds R (it can no longer wait for later
//     positions), the position goes to the group of U with the largest deficit t_g - share_g;
//  3. else if b is over-exposed now (share_b - t_b > tolerance) and would still be over at the end
//     of the list even if every later position went to other groups ((E_b + w(p)) / T > t_b +
//     tolerance), the position goes to the groups that are not over-exposed (and have candidates),
//     the re-ranker's best among them;
//  4. else the unconstrained choice stands.
// Corrections wait for the latest positions that can still make them, where exposure costs the
// least utility: examination falls faster with the position than the exposure weight w does.
// Before any exposure was recorded no group is under or over (no evidence). Inside the band
// [t - tolerance, t + tolerance] the ranking is untouched, so the utility cost shrinks as the
// tolerance grows; at tolerance 0 nearly every list is corrected towards the targets.
//
// Evidence: every committed list leaves an `ExposureDecision` (shares before the list, the
// positions whose choice was replaced, the groups served), readable with last_decision(), and
// counters in snapshot().
//
// Thread safety: ExposureConstraint is thread-safe (one mutex); concurrent lists each plan against
// the state at Begin() and are committed in turn. ExposurePlan is one request's and not thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "common/status.h"

namespace steward::models {

struct ExposureConstraintOptions {
  // Target exposure share per group (index = group id), each in [0, 1], summing to 1 (within 1e-6).
  // Required: no default here; callers pass the catalog shares when none are configured.
  std::vector<double> targets;
  // Half-width of the band around each target inside which nothing is corrected, in [0, 1).
  // Default: 0.03.
  double tolerance = 0.03;
};

// One request's constraint evidence.
struct ExposureDecision {
  int64_t request_id = 0;
  std::vector<double> shares_before;    // cumulative exposure shares when the list was planned
  std::vector<int> adjusted_positions;  // 1-based positions whose unconstrained choice was replaced
  std::vector<int> adjusted_groups;     // the group placed there instead (same length)
  std::vector<int> served_groups;       // groups of the committed list, in position order
};

// The constraint's cumulative state.
struct ExposureSnapshot {
  std::vector<double> targets;
  double tolerance = 0.0;
  std::vector<double> exposure;  // E_g
  std::vector<double> shares;    // E_g / sum E
  double disparity = 0.0;        // max_g |share_g - t_g| (fairness::ExposureDisparity)
  int64_t lists = 0;             // committed lists
  int64_t lists_adjusted = 0;    // lists with at least one replaced position
  int64_t positions_adjusted = 0;
};

// Plans one list against a snapshot of the cumulative exposure. Obtained from
// ExposureConstraint::Begin(); not thread-safe.
class ExposurePlan {
 public:
  // Groups the next position may take, as a mask over groups: `best_group` is the group of the
  // re-ranker's unconstrained choice, `has_candidates[g]` whether group g still has a candidate
  // (same length as the targets). The re-ranker then places its best candidate of an allowed group.
  std::vector<char> Allowed(int best_group, std::span<const char> has_candidates) const;
  // Appends the next position, of `group`; `adjusted` when the constraint replaced the
  // unconstrained choice (it differs from the group Allowed() was given).
  void Place(int group, bool adjusted);
  int positions() const { return positions_; }
  const ExposureDecision& decision() const { return decision_; }

 private:
  friend class ExposureConstraint;
  ExposurePlan(std::vector<double> exposure, std::vector<double> targets, double tolerance, int64_t request_id,
               int length);
  std::vector<double> exposure_;  // cumulative + this list so far
  std::vector<double> targets_;
  double tolerance_;
  int length_;  // k, the planned list length
  int positions_ = 0;
  ExposureDecision decision_;
};

class ExposureConstraint {
 public:
  // Validates the options: errors name the field ("targets[1] must be in [0, 1]", "targets must sum to 1").
  static StatusOr<ExposureConstraint> Create(ExposureConstraintOptions options);
  ExposureConstraint(ExposureConstraint&& other) noexcept;

  int num_groups() const { return static_cast<int>(options_.targets.size()); }
  const ExposureConstraintOptions& options() const { return options_; }

  // Starts a list of `k` positions for `request_id` against the current cumulative exposure.
  ExposurePlan Begin(int64_t request_id, int k) const;
  // Records a served list: `served_groups` are the groups of the items actually shown, in position
  // order (they may differ from the plan's, e.g. after exploration slots); groups outside
  // [0, num_groups) are ignored. The plan's adjustments become last_decision().
  void Commit(const ExposurePlan& plan, std::span<const int> served_groups);

  // Convenience for re-rankers that order by score alone: greedy by score (ties: lower index)
  // under the constraint; returns indices into the candidates, at most k, and commits the list.
  // `groups[i]` is candidate i's group.
  std::vector<size_t> Rerank(int64_t request_id, std::span<const double> scores, std::span<const int> groups, int k);

  ExposureDecision last_decision() const;
  ExposureSnapshot snapshot() const;

 private:
  explicit ExposureConstraint(ExposureConstraintOptions options);
  ExposureConstraintOptions options_;
  mutable std::mutex mu_;
  std::vector<double> exposure_;
  int64_t lists_ = 0, lists_adjusted_ = 0, positions_adjusted_ = 0;
  ExposureDecision last_;
};

// Share of catalog items in each group (index = group id, groups 0..max group id), the default
// targets. Negative group ids are ignored; empty when no item has a group.
std::vector<double> GroupShares(std::span<const int> item_groups);

}  // namespace steward::models
