// Contextual bandits over candidate items (disjoint linear models, one per item).
//
// Each arm keeps A = lambda I + sum x x^T and b = sum r x. A^-1 is maintained by Sherman-Morrison
// updates, O(d^2) per feedback event, in one of two representations:
//   - low rank, while the arm has fewer than d/2 updates: A^-1 = I/lambda - sum_k u_k u_k^T with
//     u_k = A_{k-1}^-1 x_k / sqrt(1 + x_k^T A_{k-1}^-1 x_k); scoring costs O(n d) for n updates, so
//     the many rarely-seen candidates are cheap to score;
//   - dense d x d after that.
// theta = A^-1 b is updated in O(d) from the Sherman-Morrison vector (no extra matrix product).
// Storage is single precision (the d x d inverse streams through the cache on every score); the
// arithmetic is vectorised with Eigen inside bandit.cc.
//
// Policies: disjoint LinUCB (Li et al. 2010), score = theta.x + alpha sqrt(x^T A^-1 x);
// linear Thompson sampling (Agrawal & Goyal 2013), score ~ N(theta.x, v^2 x^T A^-1 x) (exact for
// disjoint arms, since each arm's score depends only on its own posterior); epsilon-greedy over
// theta.x; and a context-free Bernoulli Thompson sampling baseline (Beta(1 + clicks, 1 + misses)).
//
// Thread safety: none; one bandit per serving thread or guarded by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/rng.h"
#include "common/status.h"

namespace steward::models {

class LinearArm {
 public:
  LinearArm(int dim, double lambda);
  // x^T A^-1 x.
  double Variance(std::span<const float> x) const;
  double Mean(std::span<const float> x) const;  // theta . x
  void Update(std::span<const float> x, double reward);
  int64_t updates() const { return updates_; }
  bool dense() const { return !dense_inv_.empty(); }
  // A^-1 as a dense row-major d x d matrix (for tests).
  std::vector<double> InverseDense() const;

 private:
  void ApplyInverse(std::span<const float> x, float* out) const;  // out = A^-1 x

  int dim_;
  double lambda_;
  int64_t updates_ = 0;
  std::vector<float> b_;
  std::vector<float> theta_;
  std::vector<float> low_rank_;   // n x d row-major: u_k
  std::vector<float> dense_inv_;  // packed upper triangle of A^-1 (d (d + 1) / 2), empty while low rank
  mutable std::vector<float> scratch_;
};

enum class PolicyKind { kLinUcb, kLinTs, kEpsilonGreedy, kBernoulliTs, kRandom };
const char* PolicyName(PolicyKind kind);
// "linucb", "lints", "egreedy", "bts", "random".
StatusOr<PolicyKind> ParsePolicy(const std::string& name);

struct BanditOptions {
  PolicyKind kind = PolicyKind::kLinUcb;
  int dim = 78;           // context dimension d. Default: 78
  double alpha = 1.5;     // LinUCB exploration. Default: 1.5 (the paper's)
  double ts_scale = 0.5;  // linear TS posterior scale v. Default: 0.5
  double epsilon = 0.1;   // epsilon-greedy exploration. Default: 0.1
  double lambda = 1.0;    // ridge. Default: 1
  uint64_t seed = 1;
};

// A bandit over arms identified by int64 ids (catalog item indices, OBD item ids).
class Bandit {
 public:
  explicit Bandit(BanditOptions options);
  // Scores every candidate for one context (higher is better); `out` gets one score per candidate.
  // Random policies draw from the bandit's Rng (deterministic per seed).
  void Score(std::span<const int64_t> candidates, std::span<const float> x, std::vector<double>& out);
  // The linear models' mean theta.x and confidence width sqrt(x^T A^-1 x) per candidate.
  void MeanAndWidth(std::span<const int64_t> candidates, std::span<const float> x, std::vector<double>& mean,
                    std::vector<double>& width) const;
  // Index of the best candidate, and the probability the policy picks it (exact for LinUCB and
  // epsilon-greedy and random; Monte-Carlo with `samples` draws for the Thompson policies).
  struct Choice {
    size_t index = 0;
    double propensity = 1.0;
  };
  Choice Choose(std::span<const int64_t> candidates, std::span<const float> x, int samples = 200);
  // Per-interaction update of one arm.
  void Update(int64_t arm, std::span<const float> x, double reward);
  const BanditOptions& options() const { return options_; }
  size_t arms() const { return arms_.size(); }
  const LinearArm* Find(int64_t arm) const;

 private:
  LinearArm& Arm(int64_t arm);
  size_t Argmax(const std::vector<double>& scores) const;

  BanditOptions options_;
  Rng rng_;
  std::unordered_map<int64_t, std::unique_ptr<LinearArm>> arms_;
  std::unordered_map<int64_t, std::pair<double, double>> beta_;  // Bernoulli TS: clicks, misses
  LinearArm prior_;  // an arm with no updates (shared by unseen arms)
  std::vector<double> scratch_;
};

}  // namespace steward::models
