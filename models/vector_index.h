// VectorIndex: the one adapter to FAISS 1.7.3 (inner-product search over L2-normalised
// embeddings). FAISS types and exceptions never leave vector_index.cc: errors come back as Status.
//
// The index is built from a factory string: "Flat" (exact, default), "HNSW32", "IVF256,Flat", ...
// Items carry int64 ids. Add() makes an item retrievable at once (item cold start: an item is
// searchable as soon as its content embedding exists). Remove() deletes natively where FAISS can
// (Flat, IVF) and with tombstones where it cannot (HNSW): tombstoned ids are filtered from results
// (searching a little deeper) and the graph is rebuilt from the kept vectors once tombstones pass
// `rebuild_share` of the index. Re-adding an id replaces its vector.
//
// Thread safety: Search/SearchBatch may run concurrently with each other; Add/Remove/Train need
// exclusive access (the caller swaps whole indexes for retraining).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace steward::models {

struct VectorIndexOptions {
  std::string factory = "Flat";  // FAISS index_factory string. Default: Flat (exact)
  int ef_search = 256;           // HNSW search depth. Default: 256
  int nprobe = 16;               // IVF lists probed. Default: 16
  double rebuild_share = 0.2;    // tombstone share that triggers an HNSW rebuild. Default: 0.2
};

struct Neighbor {
  int64_t id = -1;
  float score = 0.0f;  // inner product
};

class VectorIndex {
 public:
  struct Impl;
  // Errors: kInvalidArgument naming the factory string when FAISS rejects it.
  static StatusOr<std::unique_ptr<VectorIndex>> Create(int dim, VectorIndexOptions options = {});
  ~VectorIndex();

  // IVF indexes need training on representative vectors (n x dim) before Add; others ignore it.
  Status Train(std::span<const float> vectors);
  bool trained() const;
  // Adds (or replaces) items: ids.size() x dim floats.
  Status Add(std::span<const int64_t> ids, std::span<const float> vectors);
  Status Remove(std::span<const int64_t> ids);
  // The k best items by inner product, best first.
  StatusOr<std::vector<Neighbor>> Search(std::span<const float> query, int k) const;
  // queries.size() / dim queries; results row-major, k per query (id -1 past the end).
  Status SearchBatch(std::span<const float> queries, int k, std::vector<Neighbor>& out) const;
  int64_t size() const;  // live items
  int dim() const;
  const VectorIndexOptions& options() const;

 private:
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Limits FAISS (OpenMP) to `threads` threads, e.g. 1 for single-thread latency benchmarks.
void SetVectorSearchThreads(int threads);

}  // namespace steward::models
