#include "models/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <mutex>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

namespace steward::models {

struct VectorIndex::Impl {
  int dim = 0;
  VectorIndexOptions options;
  bool tombstones = false;  // removal by tombstones (HNSW) instead of natively
  std::unique_ptr<faiss::IndexIDMap2> index;
  std::unordered_map<int64_t, std::vector<float>> vectors;  // live items (for rebuilds)
  std::unordered_set<int64_t> dead;                          // tombstoned ids still in the graph

  faiss::Index* inner() const { return index->index; }

  Status Build() {
    faiss::Index* raw = faiss::index_factory(dim, options.factory.c_str(), faiss::METRIC_INNER_PRODUCT);
    index = std::make_unique<faiss::IndexIDMap2>(raw);
    index->own_fields = true;
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(raw)) {
      hnsw->hnsw.efSearch = options.ef_search;
      tombstones = true;
    }
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(raw)) ivf->nprobe = static_cast<size_t>(options.nprobe);
    return Status::Ok();
  }

  Status Rebuild() {
    std::unique_ptr<faiss::IndexIDMap2> old = std::move(index);
    RETURN_IF_ERROR(Build());
    if (!old->is_trained) return Status::Ok();
    // An IVF quantizer is kept by re-training on the live vectors.
    std::vector<int64_t> ids;
    std::vector<float> flat;
    for (const auto& [id, v] : vectors) {
      ids.push_back(id);
      flat.insert(flat.end(), v.begin(), v.end());
    }
    if (!index->is_trained && !ids.empty()) index->train(static_cast<faiss::Index::idx_t>(ids.size()), flat.data());
    if (!ids.empty()) index->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), flat.data(), ids.data());
    dead.clear();
    return Status::Ok();
  }
};

namespace {

// Exact inner-product top-k of one query over a flat index's stored vectors: one matrix-vector
// product and a partial selection. FAISS's single-query path either loops per vector without SIMD
// (Debian's generic build) or runs a 1-column sgemm that first copies the whole database; both
// were the largest costs of the serving pipeline under perf.
void FlatTopK(const faiss::IndexFlat& flat, const std::vector<faiss::Index::idx_t>& id_map, const float* query,
              int k, std::vector<Neighbor>& out) {
  using Mat = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  const Eigen::Index n = flat.ntotal, d = flat.d;
  Eigen::VectorXf scores = Mat(flat.get_xb(), n, d) * Eigen::Map<const Eigen::VectorXf>(query, d);
  const size_t take = std::min<size_t>(static_cast<size_t>(k), static_cast<size_t>(n));
  out.assign(static_cast<size_t>(k), Neighbor());
  if (take == 0) return;
  // The k-th largest score by selection on a copy of the scores (contiguous floats, no indirection),
  // then every position above it and, in position order, enough of those equal to it.
  std::vector<float> copy(scores.data(), scores.data() + n);
  std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(take - 1), copy.end(), std::greater<float>());
  const float kth = copy[take - 1];
  std::vector<int32_t> order;
  order.reserve(take);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (scores[i] > kth) order.push_back(static_cast<int32_t>(i));
  }
  for (Eigen::Index i = 0; i < n && order.size() < take; ++i) {
    if (scores[i] == kth) order.push_back(static_cast<int32_t>(i));
  }
  // Ties broken by position so the result is deterministic (FAISS's heap order is not specified).
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  for (size_t j = 0; j < take; ++j) out[j] = Neighbor{id_map[static_cast<size_t>(order[j])], scores[order[j]]};
}

Status FromFaiss(const std::string& what, const std::exception& e) {
  return InvalidArgument(what + ": FAISS: " + e.what());
}

}  // namespace

VectorIndex::VectorIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Create(int dim, VectorIndexOptions options) {
  if (dim <= 0) return InvalidArgument("vector index dimension must be positive");
  // Exact batch search through BLAS even for few queries: Debian's generic FAISS build has no SIMD
  // kernel for the per-vector loop, while OpenBLAS's sgemm is vectorised (measured: about 3x).
  // Single queries on a flat index bypass both (FlatTopK).
  static std::once_flag blas_threshold_once;  // a process-wide FAISS setting; indexes are built on several threads
  std::call_once(blas_threshold_once, [] { faiss::distance_compute_blas_threshold = 1; });
  auto impl = std::make_unique<Impl>();
  impl->dim = dim;
  impl->options = std::move(options);
  try {
    RETURN_IF_ERROR(impl->Build());
  } catch (const std::exception& e) {
    return InvalidArgument("index factory string '" + impl->options.factory +
                           "' was rejected (" + e.what() + "); use e.g. Flat, HNSW32 or IVF256,Flat");
  }
  return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(impl)));
}

Status VectorIndex::Train(std::span<const float> vectors) {
  if (vectors.size() % static_cast<size_t>(impl_->dim) != 0) return InvalidArgument("training vectors are not a multiple of dim");
  if (impl_->index->is_trained) return Status::Ok();
  try {
    impl_->index->train(static_cast<faiss::Index::idx_t>(vectors.size() / static_cast<size_t>(impl_->dim)), vectors.data());
  } catch (const std::exception& e) {
    return FromFaiss("training the index", e);
  }
  return Status::Ok();
}

bool VectorIndex::trained() const { return impl_->index->is_trained; }

Status VectorIndex::Add(std::span<const int64_t> ids, std::span<const float> vectors) {
  const size_t d = static_cast<size_t>(impl_->dim);
  if (vectors.size() != ids.size() * d) {
    return InvalidArgument("Add needs ids.size() x dim floats (" + std::to_string(ids.size()) + " x " + std::to_string(d) + ")");
  }
  if (!impl_->index->is_trained) return FailedPrecondition("index '" + impl_->options.factory + "' must be trained before Add");
  // Re-adding an id replaces it.
  std::vector<int64_t> replaced;
  for (int64_t id : ids) {
    if (impl_->vectors.count(id)) replaced.push_back(id);
  }
  if (!replaced.empty()) RETURN_IF_ERROR(Remove(replaced));
  try {
    impl_->index->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), vectors.data(), ids.data());
  } catch (const std::exception& e) {
    return FromFaiss("adding vectors", e);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    impl_->vectors[ids[i]] = std::vector<float>(vectors.begin() + static_cast<std::ptrdiff_t>(i * d),
                                                vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    impl_->dead.erase(ids[i]);
  }
  return Status::Ok();
}

Status VectorIndex::Remove(std::span<const int64_t> ids) {
  std::vector<int64_t> live;
  for (int64_t id : ids) {
    if (impl_->vectors.erase(id)) live.push_back(id);
  }
  if (live.empty()) return Status::Ok();
  if (impl_->tombstones) {
    impl_->dead.insert(live.begin(), live.end());
    const double share = static_cast<double>(impl_->dead.size()) / static_cast<double>(impl_->index->ntotal);
    if (share > impl_->options.rebuild_share) {
      try {
        return impl_->Rebuild();
      } catch (const std::exception& e) {
        return FromFaiss("rebuilding the index", e);
      }
    }
    return Status::Ok();
  }
  try {
    faiss::IDSelectorBatch selector(live.size(), live.data());
    impl_->index->remove_ids(selector);
  } catch (const std::exception& e) {
    return FromFaiss("removing vectors", e);
  }
  return Status::Ok();
}

Status VectorIndex::SearchBatch(std::span<const float> queries, int k, std::vector<Neighbor>& out) const {
  const size_t d = static_cast<size_t>(impl_->dim);
  if (k <= 0) return InvalidArgument("k must be positive");
  if (queries.size() % d != 0) return InvalidArgument("queries are not a multiple of dim");
  const size_t nq = queries.size() / d;
  if (const auto* flat = dynamic_cast<const faiss::IndexFlat*>(impl_->inner()); flat && nq == 1 && impl_->dead.empty()) {
    FlatTopK(*flat, impl_->index->id_map, queries.data(), k, out);
    return Status::Ok();
  }
  const int extra = static_cast<int>(std::min<size_t>(impl_->dead.size(), 1024));
  const int fetch = k + extra;
  std::vector<float> scores(nq * static_cast<size_t>(fetch));
  std::vector<faiss::Index::idx_t> labels(nq * static_cast<size_t>(fetch));
  try {
    impl_->index->search(static_cast<faiss::Index::idx_t>(nq), queries.data(), fetch, scores.data(), labels.data());
  } catch (const std::exception& e) {
    return FromFaiss("searching", e);
  }
  out.assign(nq * static_cast<size_t>(k), Neighbor());
  for (size_t q = 0; q < nq; ++q) {
    int taken = 0;
    for (int j = 0; j < fetch && taken < k; ++j) {
      const size_t at = q * static_cast<size_t>(fetch) + static_cast<size_t>(j);
      if (labels[at] < 0 || impl_->dead.count(labels[at])) continue;
      out[q * static_cast<size_t>(k) + static_cast<size_t>(taken++)] = Neighbor{labels[at], scores[at]};
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<Neighbor>> VectorIndex::Search(std::span<const float> query, int k) const {
  std::vector<Neighbor> out;
  RETURN_IF_ERROR(SearchBatch(query, k, out));
  while (!out.empty() && out.back().id < 0) out.pop_back();
  return out;
}

int64_t VectorIndex::size() const { return static_cast<int64_t>(impl_->vectors.size()); }
int VectorIndex::dim() const { return impl_->dim; }
const VectorIndexOptions& VectorIndex::options() const { return impl_->options; }

void SetVectorSearchThreads(int threads) { omp_set_num_threads(threads); }

}  // namespace steward::models
