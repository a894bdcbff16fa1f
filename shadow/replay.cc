#include "shadow/replay.h"

#include <cmath>
#include <limits>

#include "experiment/hashing.h"
#include "experiment/stats.h"

namespace steward::shadow {
namespace {
constexpr int kBuckets = 8;
}

int ObdContextDim(int n_items) { return 4 * kBuckets + n_items + 3 + 1; }

void ObdContext(const data::ObdRow& row, int n_items, std::vector<float>& out) {
  out.assign(static_cast<size_t>(ObdContextDim(n_items)), 0.0f);
  for (int f = 0; f < 4; ++f) {
    const uint32_t h = experiment::Fnv1a32(row.user_features[static_cast<size_t>(f)]);
    out[static_cast<size_t>(f * kBuckets + static_cast<int>(h % kBuckets))] = 1.0f;
  }
  for (int i = 0; i < n_items && i < static_cast<int>(row.affinity.size()); ++i) {
    out[static_cast<size_t>(4 * kBuckets + i)] = static_cast<float>(std::log1p(std::max(0.0, row.affinity[static_cast<size_t>(i)])));
  }
  out[static_cast<size_t>(4 * kBuckets + n_items + row.position - 1)] = 1.0f;
  out.back() = 1.0f;
}

StatusOr<ReplayResult> Replay(const data::ObdLog& log, models::PolicyKind policy, uint64_t seed) {
  const int n = log.n_items;
  const double uniform = 1.0 / n;
  for (const data::ObdRow& row : log.rows) {
    if (std::fabs(row.propensity - uniform) > 1e-9) {
      return FailedPrecondition(log.path + ": replay needs a uniformly random log (propensity 1/" + std::to_string(n) +
                                "), found " + std::to_string(row.propensity) + "; use the random/ files or off-policy estimators");
    }
  }
  models::BanditOptions options;
  options.kind = policy;
  options.dim = ObdContextDim(n);
  options.seed = seed;
  models::Bandit bandit(options);
  std::vector<int64_t> candidates(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) candidates[static_cast<size_t>(i)] = i;
  ReplayResult r;
  r.policy = models::PolicyName(policy);
  std::vector<float> x;
  for (const data::ObdRow& row : log.rows) {
    ++r.events;
    ObdContext(row, n, x);
    const auto choice = bandit.Choose(candidates, x, /*samples=*/1);
    if (static_cast<int32_t>(choice.index) != row.item_id) continue;
    ++r.matched;
    r.clicks += row.click;
    bandit.Update(row.item_id, x, row.click);
  }
  if (r.matched > 0) {
    r.ctr = static_cast<double>(r.clicks) / static_cast<double>(r.matched);
    ASSIGN_OR_RETURN(experiment::Interval ci, experiment::WilsonInterval(r.clicks, r.matched));
    r.ci_low = ci.low;
    r.ci_high = ci.high;
  } else {
    r.ctr = r.ci_low = r.ci_high = std::numeric_limits<double>::quiet_NaN();
    r.undefined = "none of the " + std::to_string(r.events) +
                  " logged events matched the policy's choice, so replay has no estimate of its CTR";
  }
  return r;
}

}  // namespace steward::shadow
