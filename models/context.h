// Context features for the contextual bandit: d = 78 by default, laid out as
//
//   [0, 24)   hour of day (UTC) one-hot                         24
//   [24, 31)  day of week one-hot (Monday = 24)                   7
//   [31, 34)  user group one-hot (e.g. age band; all 0 if unknown) 3
//   [34]      new user (1) or established (0)                     1
//   [35]      log(1 + activity)  (normalised)                     1
//   [36]      log(1 + history length)  (normalised)               1
//   [37, 77)  summary of the user's recent item embeddings:      40
//             their mean, projected by a fixed seeded Gaussian random projection (Johnson-
//             Lindenstrauss) from the embedding dimension to 40, each scaled by 1/sqrt(40)
//             (normalised)
//   [77]      bias (1)                                            1
//
// FeatureNormalizer keeps running means and variances (Welford) of the continuous features and maps
// them to z-scores clipped to [-3, 3] (values beyond 3 sigma are clipped, as in the paper); one-hot
// and bias features pass through unchanged.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace steward::models {

inline constexpr int kContextDim = 78;

struct ContextInput {
  int64_t ts_ms = 0;
  int user_group = -1;  // 0..2, or -1 when unknown
  bool new_user = false;
  double activity = 0.0;
  int64_t history_length = 0;
  std::span<const float> recent_embedding_mean;  // empty when the user has no history
};

class ContextBuilder {
 public:
  // `embedding_dim`: dimension of the item embeddings summarised; `seed` fixes the projection.
  ContextBuilder(int embedding_dim, uint64_t seed);
  int dim() const { return kContextDim; }
  // Writes kContextDim features to `out`.
  void Build(const ContextInput& input, std::span<float> out) const;
  // Which features are continuous (normalised) rather than one-hot or bias.
  static std::vector<bool> ContinuousMask();

 private:
  int embedding_dim_;
  std::vector<float> projection_;  // 40 x embedding_dim, row-major
};

class FeatureNormalizer {
 public:
  explicit FeatureNormalizer(std::vector<bool> continuous, double clip_sigma = 3.0);
  void Observe(std::span<const float> x);
  // z-scores of the continuous features, clipped to +-clip_sigma; others unchanged. Features seen
  // fewer than 2 times, or with zero variance, become 0.
  void Apply(std::span<float> x) const;
  // Share of Apply() values that were clipped so far (the paper reports about 2.1%).
  double clipped_share() const { return applied_ ? static_cast<double>(clipped_) / static_cast<double>(applied_) : 0.0; }

 private:
  std::vector<bool> continuous_;
  double clip_;
  std::vector<double> mean_, m2_;
  int64_t n_ = 0;
  mutable int64_t applied_ = 0, clipped_ = 0;
};

}  // namespace steward::models
