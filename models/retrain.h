// How the hybrid weights its logged training pairs when it fine-tunes the embeddings (issue #12,
// paper 5.3: retraining from logged data without feeding the popularity loop back into the model).
// Pure functions over plain data.
//
// A logged pair (anchor, positive) is two items the same user clicked, the positive last. What the
// model sees of the world is biased by what it showed: items it exposes often collect most clicks
// and therefore most pairs. The weight of a pair is its chance of being drawn into a training
// batch (EmbeddingModel::Train samples pairs in proportion to their weights, an importance
// resampling that is, in expectation, the weighted loss):
//   plain     every pair 1 (what the hybrid always did);
//   ips       1 / max(clip, q), q = the positive item's exposure propensity when the pair was
//             logged: the share of the model's served lists so far that showed the item (the
//             popularity-style propensity of Schnabel et al. 2016, "Recommendations as
//             Treatments"; estimated, since the world's true examination is hidden from the model).
//             Clipping bounds the weight at 1/clip (Default: clip 0.05, weight at most 20);
//   balanced  1 / (pairs whose positive is in the same item popularity group), so each group with
//             pairs (head/mid/tail: `CatalogItem::provider_group`, authors ranked by ratings count,
//             docs/simulator.md) is drawn equally often whatever its share of the log.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace steward::models {

enum class RetrainWeighting { kPlain, kIps, kBalanced };

// "plain" | "ips" | "balanced"; nullopt for anything else.
std::optional<RetrainWeighting> ParseRetrainWeighting(const std::string& name);
const char* RetrainWeightingName(RetrainWeighting w);

// Weight of each pair. `propensity[i]`: pair i's logged exposure propensity of the positive (used
// by kIps; values <= clip give 1/clip); `positive_group[i]`: pair i's positive item's group (used by
// kBalanced; any non-negative integers). Both have pairs.size() entries when the weighting needs
// them. kPlain: all 1.
std::vector<double> RetrainPairWeights(RetrainWeighting weighting, std::span<const double> propensity,
                                       std::span<const int> positive_group, size_t pairs, double clip = 0.05);

}  // namespace steward::models
