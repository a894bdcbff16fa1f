// GrowthBook-compatible assignment primitives, so any GrowthBook SDK puts a user in the same arm
// as Steward. Pure functions; no allocation.
//
// Strings are hashed over UTF-16 code units, as the JavaScript SDK's charCodeAt() does: input is
// UTF-8, decoded to code points, and code points above U+FFFF contribute their two surrogates.
// Invalid UTF-8 bytes contribute U+FFFD. For ASCII this is the same as hashing the bytes.
//
// Reference: growthbook/packages/sdk-js/src/util.ts (hash, getBucketRanges, chooseVariation,
// inNamespace, getEqualWeights); conformance cases in tests/experiment/data/growthbook_cases.json.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace steward::experiment {

// FNV-1a 32-bit over the UTF-16 code units of `a` followed by those of `b`.
uint32_t Fnv1a32(std::string_view a, std::string_view b = {});

// GrowthBook's hash(seed, value, version) in [0, 1):
//   v1: (fnv(value + seed) % 1000) / 1000
//   v2: (fnv(decimal(fnv(seed + value))) % 10000) / 10000
// Returns nullopt for any other version.
std::optional<double> GrowthBookHash(std::string_view seed, std::string_view value, int version);

using BucketRange = std::pair<double, double>;  // [start, end)

// Equal weights 1/n (empty for n <= 0).
std::vector<double> EqualWeights(int n);

// Ranges for `n` variations: variation i starts at the cumulative weight of those before it and
// covers coverage * w_i, so raising coverage only adds users. Coverage is clamped to [0, 1];
// weights of the wrong length or not summing to 1 (+-0.01) fall back to equal weights.
std::vector<BucketRange> BucketRanges(int n, double coverage, std::span<const double> weights);

// Index of the range containing `h`, or -1.
int ChooseVariation(double h, std::span<const BucketRange> ranges);

// Whether `id` falls in [start, end) of namespace `name` (v1 hash of "__" + name).
bool InNamespace(std::string_view id, std::string_view name, double start, double end);

}  // namespace steward::experiment
