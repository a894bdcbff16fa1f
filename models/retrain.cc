#include "models/retrain.h"

#include <algorithm>
#include <map>

namespace steward::models {

std::optional<RetrainWeighting> ParseRetrainWeighting(const std::string& name) {
  if (name == "plain") return RetrainWeighting::kPlain;
  if (name == "ips") return RetrainWeighting::kIps;
  if (name == "balanced") return RetrainWeighting::kBalanced;
  return std::nullopt;
}

const char* RetrainWeightingName(RetrainWeighting w) {
  switch (w) {
    case RetrainWeighting::kPlain: return "plain";
    case RetrainWeighting::kIps: return "ips";
    case RetrainWeighting::kBalanced: return "balanced";
  }
  return "plain";
}

std::vector<double> RetrainPairWeights(RetrainWeighting weighting, std::span<const double> propensity,
                                       std::span<const int> positive_group, size_t pairs, double clip) {
  std::vector<double> w(pairs, 1.0);
  if (weighting == RetrainWeighting::kIps) {
    for (size_t i = 0; i < pairs && i < propensity.size(); ++i) w[i] = 1.0 / std::max(clip, propensity[i]);
  } else if (weighting == RetrainWeighting::kBalanced) {
    std::map<int, double> count;
    for (size_t i = 0; i < pairs && i < positive_group.size(); ++i) count[positive_group[i]] += 1.0;
    for (size_t i = 0; i < pairs && i < positive_group.size(); ++i) w[i] = 1.0 / count[positive_group[i]];
  }
  return w;
}

}  // namespace steward::models
