// Deep metric-learning item embeddings (the paper's section 2.1), in Eigen.
//
// Items are described by sparse content features hashed into `input_dim` buckets (for goodbooks:
// author, language, publication decade, title tokens, popularity bucket; see ItemFeaturizer). An MLP
// maps them to an L2-normalised embedding:
//   x (input_dim, sparse) -> ReLU(W1 x + b1) -> ... -> W_L h + b_L -> e = z / ||z||
// with layer sizes [1024, 512, 256, 128] by default (input 1024 buckets, output 128-d).
//
// Training uses (anchor, positive) pairs of co-consumed items; each anchor's negative is the
// hardest item in the batch (highest cosine to the anchor among the other pairs' items). The loss
// per triplet, with cosine similarity s and distance d = 1 - s, margin m = 0.5:
//   triplet     max(0, m - s(a,p) + s(a,n))
//   contrastive d(a,p)^2 + max(0, m - d(a,n))^2
// Adam with a cosine-decay learning rate from 0.005 to 0.0001 over `total_steps`.
//
// Thread safety: Embed()/EmbedAll() are const and may run concurrently; Train() needs exclusive
// access (the hybrid trains a copy in the background and swaps it in).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace steward::models {

// A sparse input: (bucket, value) pairs.
using SparseFeatures = std::vector<std::pair<int32_t, float>>;

struct EmbeddingOptions {
  std::vector<int> layers = {1024, 512, 256, 128};  // input buckets, hidden..., output
  double margin = 0.5;
  double lr_start = 0.005, lr_end = 0.0001;  // cosine decay
  int64_t total_steps = 2000;                 // steps over which the rate decays
  int batch = 4096;                           // pairs per step (configurable)
  uint64_t seed = 1;
};

struct TrainStats {
  double loss = 0.0;        // mean loss of the last step
  double first_loss = 0.0;  // mean loss of the first step of this call
  int64_t steps = 0;
};

class EmbeddingModel {
 public:
  struct Impl;
  explicit EmbeddingModel(EmbeddingOptions options);
  EmbeddingModel(const EmbeddingModel& other);  // deep copy (train a copy, swap it in)
  EmbeddingModel& operator=(const EmbeddingModel&) = delete;
  ~EmbeddingModel();

  int input_dim() const;
  int output_dim() const;
  // One embedding (unit length) per item.
  std::vector<float> Embed(const SparseFeatures& x) const;
  // All items at once (row-major, items x output_dim); batched for speed.
  std::vector<float> EmbedAll(const std::vector<SparseFeatures>& items) const;

  // Runs `steps` optimisation steps over `pairs` (indices into `items`), sampling batches with the
  // model's Rng. Continues the learning-rate schedule where the last call stopped. `weights`
  // (optional, one per pair, non-negative, not all 0): pairs are drawn in proportion to them
  // (models/retrain.h); empty = uniformly, as before.
  StatusOr<TrainStats> Train(const std::vector<SparseFeatures>& items, const std::vector<std::pair<int32_t, int32_t>>& pairs,
                             int steps, std::span<const double> weights = {});

  // Mean loss and its gradient for fixed triplets (no mining), for the finite-difference test.
  double LossForTriplets(const std::vector<SparseFeatures>& items, const std::vector<std::array<int32_t, 3>>& triplets,
                         std::vector<float>* gradient) const;
  // All parameters flattened (W1, b1, W2, b2, ...), for tests.
  std::vector<float> Parameters() const;
  void SetParameters(std::span<const float> params);
  int64_t steps_done() const;

 private:
  std::unique_ptr<Impl> impl_;
};

// Hashes an item's content into sparse features: each named field and value goes to bucket
// fnv1a(field ":" value) % buckets with value 1 (title tokens share 1 spread over the tokens), then
// the vector is L2-normalised.
class ItemFeaturizer {
 public:
  explicit ItemFeaturizer(int buckets) : buckets_(buckets) {}
  struct Field {
    std::string name;
    std::vector<std::string> values;
  };
  SparseFeatures Featurize(const std::vector<Field>& fields) const;

 private:
  int buckets_;
};

}  // namespace steward::models
