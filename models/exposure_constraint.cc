#include "models/exposure_constraint.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "fairness/metrics.h"

namespace steward::models {
namespace {

bool InRange(int group, size_t groups) { return group >= 0 && static_cast<size_t>(group) < groups; }

}  // namespace

ExposurePlan::ExposurePlan(std::vector<double> exposure, std::vector<double> targets, double tolerance,
                           int64_t request_id, int length)
    : exposure_(std::move(exposure)), targets_(std::move(targets)), tolerance_(tolerance), length_(length) {
  decision_.request_id = request_id;
  decision_.shares_before = fairness::ExposureShares(exposure_);
}

std::vector<char> ExposurePlan::Allowed(int best_group, std::span<const char> has_candidates) const {
  const size_t n = targets_.size();
  std::vector<char> all(n, 1);
  double total = 0.0;
  for (double e : exposure_) total += e;
  if (total <= 0.0) return all;  // no evidence yet: nothing is under or over
  const std::vector<double> shares = fairness::ExposureShares(exposure_);
  auto has = [&](size_t g) { return g < has_candidates.size() && has_candidates[g] != 0; };
  const int p = positions_ + 1;
  const double w = fairness::PositionWeight(p);
  double later = 0.0;  // R
  for (int q = p + 1; q <= length_; ++q) later += fairness::PositionWeight(q);
  const double total_end = total + w + later;  // T
  // 2. Under-exposed groups: the one with the largest deficit takes the position once their need
  // can no longer wait for later positions, unless the unconstrained choice serves one of them.
  int most_under = -1;
  double largest_deficit = 0.0, need = 0.0;
  bool best_is_under = false;
  for (size_t g = 0; g < n; ++g) {
    const double deficit = targets_[g] - shares[g];
    if (deficit <= tolerance_ || !has(g)) continue;
    if (static_cast<int>(g) == best_group) best_is_under = true;
    need += std::max(0.0, (targets_[g] - tolerance_) * total_end - exposure_[g]);
    if (deficit > largest_deficit) {
      largest_deficit = deficit;
      most_under = static_cast<int>(g);
    }
  }
  if (most_under >= 0 && !best_is_under && need > later) {
    std::vector<char> only(n, 0);
    only[static_cast<size_t>(most_under)] = 1;
    return only;
  }
  // 3. An over-exposed unconstrained choice that later positions could not bring back into the
  // band yields to the groups that are not over-exposed.
  if (InRange(best_group, n)) {
    const auto b = static_cast<size_t>(best_group);
    if (shares[b] - targets_[b] > tolerance_ && (exposure_[b] + w) / total_end > targets_[b] + tolerance_) {
      std::vector<char> not_over(n, 0);
      bool any = false;
      for (size_t g = 0; g < n; ++g) {
        if (shares[g] - targets_[g] <= tolerance_ && has(g)) {
          not_over[g] = 1;
          any = true;
        }
      }
      if (any) return not_over;
    }
  }
  return all;
}

void ExposurePlan::Place(int group, bool adjusted) {
  ++positions_;
  if (InRange(group, exposure_.size())) exposure_[static_cast<size_t>(group)] += fairness::PositionWeight(positions_);
  if (adjusted) {
    decision_.adjusted_positions.push_back(positions_);
    decision_.adjusted_groups.push_back(group);
  }
}

ExposureConstraint::ExposureConstraint(ExposureConstraintOptions options)
    : options_(std::move(options)), exposure_(options_.targets.size(), 0.0) {}

ExposureConstraint::ExposureConstraint(ExposureConstraint&& other) noexcept
    : options_(std::move(other.options_)),
      exposure_(std::move(other.exposure_)),
      lists_(other.lists_),
      lists_adjusted_(other.lists_adjusted_),
      positions_adjusted_(other.positions_adjusted_),
      last_(std::move(other.last_)) {}

StatusOr<ExposureConstraint> ExposureConstraint::Create(ExposureConstraintOptions options) {
  if (options.targets.empty()) return InvalidArgument("targets must name at least one group");
  double sum = 0.0;
  for (size_t g = 0; g < options.targets.size(); ++g) {
    const double t = options.targets[g];
    if (!(t >= 0.0 && t <= 1.0)) {
      return InvalidArgument("targets[" + std::to_string(g) + "] must be in [0, 1], got " + std::to_string(t));
    }
    sum += t;
  }
  if (std::abs(sum - 1.0) > 1e-6) return InvalidArgument("targets must sum to 1, got " + std::to_string(sum));
  if (!(options.tolerance >= 0.0 && options.tolerance < 1.0)) {
    return InvalidArgument("tolerance must be in [0, 1), got " + std::to_string(options.tolerance));
  }
  return ExposureConstraint(std::move(options));
}

ExposurePlan ExposureConstraint::Begin(int64_t request_id, int k) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ExposurePlan(exposure_, options_.targets, options_.tolerance, request_id, k);
}

void ExposureConstraint::Commit(const ExposurePlan& plan, std::span<const int> served_groups) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t p = 0; p < served_groups.size(); ++p) {
    if (InRange(served_groups[p], exposure_.size())) {
      exposure_[static_cast<size_t>(served_groups[p])] += fairness::PositionWeight(static_cast<int>(p) + 1);
    }
  }
  ++lists_;
  const auto adjusted = static_cast<int64_t>(plan.decision().adjusted_positions.size());
  if (adjusted > 0) ++lists_adjusted_;
  positions_adjusted_ += adjusted;
  last_ = plan.decision();
  last_.served_groups.assign(served_groups.begin(), served_groups.end());
}

std::vector<size_t> ExposureConstraint::Rerank(int64_t request_id, std::span<const double> scores,
                                               std::span<const int> groups, int k) {
  const size_t n = std::min(scores.size(), groups.size());
  const size_t num_groups = options_.targets.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<char> taken(n, 0);
  std::vector<size_t> chosen;
  std::vector<int> chosen_groups;
  ExposurePlan plan = Begin(request_id, k);
  while (static_cast<int>(chosen.size()) < k) {
    // The unconstrained choice and which groups still have candidates.
    size_t best = n;
    std::vector<char> has(num_groups, 0);
    for (size_t i : order) {
      if (taken[i]) continue;
      if (best == n) best = i;
      if (InRange(groups[i], num_groups)) has[static_cast<size_t>(groups[i])] = 1;
    }
    if (best == n) break;
    const std::vector<char> allowed = plan.Allowed(groups[best], has);
    auto ok = [&](size_t i) {
      return InRange(groups[i], num_groups) ? allowed[static_cast<size_t>(groups[i])] != 0 : true;
    };
    size_t pick = best;
    if (!ok(best)) {
      for (size_t i : order) {
        if (!taken[i] && ok(i)) {
          pick = i;
          break;
        }
      }
    }
    taken[pick] = 1;
    chosen.push_back(pick);
    chosen_groups.push_back(groups[pick]);
    plan.Place(groups[pick], pick != best);
  }
  Commit(plan, chosen_groups);
  return chosen;
}

ExposureDecision ExposureConstraint::last_decision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

ExposureSnapshot ExposureConstraint::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  ExposureSnapshot s;
  s.targets = options_.targets;
  s.tolerance = options_.tolerance;
  s.exposure = exposure_;
  s.shares = fairness::ExposureShares(exposure_);
  s.disparity = fairness::ExposureDisparity(s.shares, s.targets);
  s.lists = lists_;
  s.lists_adjusted = lists_adjusted_;
  s.positions_adjusted = positions_adjusted_;
  return s;
}

std::vector<double> GroupShares(std::span<const int> item_groups) {
  int max_group = -1;
  for (int g : item_groups) max_group = std::max(max_group, g);
  std::vector<double> shares(static_cast<size_t>(max_group + 1), 0.0);
  double n = 0.0;
  for (int g : item_groups) {
    if (g < 0) continue;
    shares[static_cast<size_t>(g)] += 1.0;
    n += 1.0;
  }
  for (double& s : shares) s = n > 0 ? s / n : 0.0;
  return shares;
}

}  // namespace steward::models
