// Rng: the one source of randomness. Deterministic: the same seed gives the same sequence on every
// platform (xoshiro256** seeded through splitmix64; no std:: distributions, whose output is
// implementation-defined). Every random process in Steward takes an Rng or a seed.
// Thread safety: an Rng is not thread-safe; give each thread its own (see Fork()).
#pragma once

#include <cstdint>
#include <span>

namespace steward {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [0, n); n must be > 0.
  uint64_t UniformInt(uint64_t n);
  // Standard normal (Box-Muller; deterministic).
  double Normal();
  bool Bernoulli(double p) { return Uniform() < p; }
  // Exponential with the given rate (> 0).
  double Exponential(double rate);
  // Poisson with the given mean (>= 0); exact inversion for small means, normal approximation above 50.
  uint64_t Poisson(double mean);
  // Index drawn with probability proportional to weights (non-negative, not all zero).
  size_t Categorical(std::span<const double> weights);
  // An independent stream derived from this one and a label (for per-thread or per-entity streams).
  Rng Fork(uint64_t label) const;

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// splitmix64 finaliser: a well-mixed 64-bit hash of a 64-bit value.
uint64_t Mix64(uint64_t x);

}  // namespace steward
