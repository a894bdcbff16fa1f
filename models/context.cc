#include "models/context.h"

#include <algorithm>
#include <cmath>

#include "common/rng.h"

namespace steward::models {
namespace {

constexpr int kHourBase = 0, kDayBase = 24, kGroupBase = 31, kNewUser = 34, kActivity = 35, kHistory = 36,
              kEmbedBase = 37, kEmbedDims = 40, kBias = 77;
constexpr int64_t kHourMs = 3'600'000, kDayMs = 86'400'000;

}  // namespace

ContextBuilder::ContextBuilder(int embedding_dim, uint64_t seed) : embedding_dim_(embedding_dim) {
  Rng rng(seed);
  projection_.resize(static_cast<size_t>(kEmbedDims * embedding_dim));
  const double scale = 1.0 / std::sqrt(static_cast<double>(kEmbedDims));
  for (float& v : projection_) v = static_cast<float>(rng.Normal() * scale);
}

std::vector<bool> ContextBuilder::ContinuousMask() {
  std::vector<bool> mask(kContextDim, false);
  mask[kActivity] = mask[kHistory] = true;
  for (int i = 0; i < kEmbedDims; ++i) mask[static_cast<size_t>(kEmbedBase + i)] = true;
  return mask;
}

void ContextBuilder::Build(const ContextInput& in, std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  const int64_t t = in.ts_ms;
  const int hour = static_cast<int>(((t % kDayMs) + kDayMs) % kDayMs / kHourMs);
  // 1970-01-01 was a Thursday: day index 0 = Monday.
  const int64_t days = (t >= 0 ? t / kDayMs : (t - kDayMs + 1) / kDayMs);
  const int weekday = static_cast<int>(((days + 3) % 7 + 7) % 7);
  out[static_cast<size_t>(kHourBase + hour)] = 1.0f;
  out[static_cast<size_t>(kDayBase + weekday)] = 1.0f;
  if (in.user_group >= 0 && in.user_group < 3) out[static_cast<size_t>(kGroupBase + in.user_group)] = 1.0f;
  out[kNewUser] = in.new_user ? 1.0f : 0.0f;
  out[kActivity] = static_cast<float>(std::log1p(std::max(0.0, in.activity)));
  out[kHistory] = static_cast<float>(std::log1p(static_cast<double>(std::max<int64_t>(0, in.history_length))));
  if (static_cast<int>(in.recent_embedding_mean.size()) == embedding_dim_) {
    for (int r = 0; r < kEmbedDims; ++r) {
      double s = 0.0;
      const float* row = &projection_[static_cast<size_t>(r * embedding_dim_)];
      for (int c = 0; c < embedding_dim_; ++c) s += static_cast<double>(row[c]) * in.recent_embedding_mean[static_cast<size_t>(c)];
      out[static_cast<size_t>(kEmbedBase + r)] = static_cast<float>(s);
    }
  }
  out[kBias] = 1.0f;
}

FeatureNormalizer::FeatureNormalizer(std::vector<bool> continuous, double clip_sigma)
    : continuous_(std::move(continuous)), clip_(clip_sigma), mean_(continuous_.size(), 0.0), m2_(continuous_.size(), 0.0) {}

void FeatureNormalizer::Observe(std::span<const float> x) {
  ++n_;
  for (size_t i = 0; i < continuous_.size(); ++i) {
    if (!continuous_[i]) continue;
    const double delta = x[i] - mean_[i];
    mean_[i] += delta / static_cast<double>(n_);
    m2_[i] += delta * (x[i] - mean_[i]);
  }
}

void FeatureNormalizer::Apply(std::span<float> x) const {
  for (size_t i = 0; i < continuous_.size(); ++i) {
    if (!continuous_[i]) continue;
    ++applied_;
    const double var = n_ > 1 ? m2_[i] / static_cast<double>(n_ - 1) : 0.0;
    if (var <= 0.0) {
      x[i] = 0.0f;
      continue;
    }
    double z = (x[i] - mean_[i]) / std::sqrt(var);
    if (std::fabs(z) > clip_) {
      ++clipped_;
      z = z > 0 ? clip_ : -clip_;
    }
    x[i] = static_cast<float>(z);
  }
}

}  // namespace steward::models
