// Replay evaluation (Li, Chu, Langford, Wang 2011, "Unbiased offline evaluation of contextual-
// bandit-based news article recommendation algorithms"): stream a log collected by a uniformly
// random policy; at each event the evaluated policy picks an item from the same candidate set; when
// its pick equals the logged item, the event counts (its click is the policy's reward, and the
// policy learns from it), otherwise it is skipped. With uniform logging the matched events are an
// unbiased sample of what the policy would have met.
//
// For the Open Bandit Dataset each row is one (item, position) impression; the context is the
// row's four hashed user features (one-hot into 8 buckets each, by FNV-1a), its user-item affinity
// vector (log1p), the position (one-hot over 3) and a bias.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/obd.h"
#include "models/bandit.h"

namespace steward::shadow {

struct ReplayResult {
  int64_t events = 0;   // rows in the log
  int64_t matched = 0;  // rows where the policy chose the logged item
  int64_t clicks = 0;   // clicks among matched rows
  double ctr = 0.0;
  double ci_low = 0.0, ci_high = 0.0;  // Wilson 95% interval of the CTR
  // Non-empty when no event matched (then ctr, ci_low and ci_high are NaN, JSON null): replay has
  // no evidence about the policy, and a CTR of 0 would be a wrong number.
  std::string undefined;
  std::string policy;
};

// Context dimension used for an OBD log with `n_items` items.
int ObdContextDim(int n_items);
void ObdContext(const data::ObdRow& row, int n_items, std::vector<float>& out);

// Errors: kFailedPrecondition when the log was not collected uniformly at random (propensities
// not all equal to 1 / n_items), since replay is then biased.
StatusOr<ReplayResult> Replay(const data::ObdLog& log, models::PolicyKind policy, uint64_t seed);

}  // namespace steward::shadow
