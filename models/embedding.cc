#include "models/embedding.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/hash.h"
#include "common/rng.h"

namespace steward::models {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;
using SpMat = Eigen::SparseMatrix<float, Eigen::RowMajor>;

struct EmbeddingModel::Impl {
  EmbeddingOptions options;
  std::vector<Mat> w;  // layer l: out x in
  std::vector<Vec> b;
  std::vector<Mat> mw, vw;  // Adam moments
  std::vector<Vec> mb, vb;
  int64_t step = 0;
  Rng rng{1};

  explicit Impl(EmbeddingOptions o) : options(std::move(o)), rng(options.seed) {
    Rng init(options.seed ^ 0x5eedULL);
    for (size_t l = 0; l + 1 < options.layers.size(); ++l) {
      const int in = options.layers[l], out = options.layers[l + 1];
      Mat m(out, in);
      const double scale = std::sqrt(2.0 / in);  // He initialisation for ReLU layers
      for (int i = 0; i < out; ++i) {
        for (int j = 0; j < in; ++j) m(i, j) = static_cast<float>(init.Normal() * scale);
      }
      w.push_back(m);
      b.push_back(Vec::Zero(out));
      mw.push_back(Mat::Zero(out, in));
      vw.push_back(Mat::Zero(out, in));
      mb.push_back(Vec::Zero(out));
      vb.push_back(Vec::Zero(out));
    }
  }

  SpMat Inputs(const std::vector<SparseFeatures>& items, std::span<const int32_t> rows) const {
    SpMat x(static_cast<Eigen::Index>(rows.size()), options.layers[0]);
    std::vector<Eigen::Triplet<float>> t;
    for (size_t r = 0; r < rows.size(); ++r) {
      for (const auto& [bucket, value] : items[static_cast<size_t>(rows[r])]) {
        t.emplace_back(static_cast<int>(r), bucket, value);
      }
    }
    x.setFromTriplets(t.begin(), t.end());
    return x;
  }

  struct Forward {
    std::vector<Mat> z;  // pre-activations per layer
    std::vector<Mat> a;  // activations per hidden layer (a[l] = relu(z[l]))
    Mat e;               // normalised output
    Vec norm;            // ||z_L|| per row
  };

  Forward Run(const SpMat& x) const {
    Forward f;
    const size_t layers = w.size();
    for (size_t l = 0; l < layers; ++l) {
      Mat z = (l == 0 ? Mat(x * w[0].transpose()) : Mat(f.a.back() * w[l].transpose()));
      z.rowwise() += b[l].transpose();
      f.z.push_back(z);
      if (l + 1 < layers) f.a.push_back(z.cwiseMax(0.0f));
    }
    const Mat& out = f.z.back();
    f.norm = out.rowwise().norm().cwiseMax(1e-12f);
    f.e = out.array().colwise() / f.norm.array();
    return f;
  }

  // Gradients of the loss w.r.t. every parameter, given dL/de.
  void Backward(const SpMat& x, const Forward& f, const Mat& ge, std::vector<Mat>& gw, std::vector<Vec>& gb) const {
    const size_t layers = w.size();
    gw.assign(layers, Mat());
    gb.assign(layers, Vec());
    // Through the normalisation: dz = (g - e (e.g)) / ||z||.
    const Vec dots = (f.e.array() * ge.array()).rowwise().sum();
    Mat dz = (ge - (f.e.array().colwise() * dots.array()).matrix()).array().colwise() / f.norm.array();
    for (size_t l = layers; l-- > 0;) {
      gb[l] = dz.colwise().sum().transpose();
      if (l == 0) {
        gw[0] = dz.transpose() * x;
      } else {
        gw[l] = dz.transpose() * f.a[l - 1];
        Mat da = dz * w[l];
        dz = (f.z[l - 1].array() > 0.0f).select(da, 0.0f);
      }
    }
  }

  // Loss and dL/de for triplets of rows of e.
  double TripletLoss(const Mat& e, const std::vector<std::array<int32_t, 3>>& triplets, Mat* ge) const {
    const float m = static_cast<float>(options.margin);
    const float inv = 1.0f / static_cast<float>(std::max<size_t>(triplets.size(), 1));
    if (ge) *ge = Mat::Zero(e.rows(), e.cols());
    double loss = 0.0;
    for (const auto& [a, p, n] : triplets) {
      const float s_ap = e.row(a).dot(e.row(p)), s_an = e.row(a).dot(e.row(n));
      const float t = m - s_ap + s_an;
      const float d_ap = 1.0f - s_ap, d_an = 1.0f - s_an;
      const float hinge = std::max(0.0f, m - d_an);
      loss += std::max(0.0f, t) + d_ap * d_ap + hinge * hinge;
      if (!ge) continue;
      const float g_ap = (t > 0 ? -1.0f : 0.0f) - 2.0f * d_ap;
      const float g_an = (t > 0 ? 1.0f : 0.0f) + 2.0f * hinge;
      ge->row(a) += inv * (g_ap * e.row(p) + g_an * e.row(n));
      ge->row(p) += inv * g_ap * e.row(a);
      ge->row(n) += inv * g_an * e.row(a);
    }
    return loss * inv;
  }

  double LearningRate() const {
    const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(std::max<int64_t>(options.total_steps, 1)));
    return options.lr_end + 0.5 * (options.lr_start - options.lr_end) * (1.0 + std::cos(std::numbers::pi * t));
  }

  void Adam(const std::vector<Mat>& gw, const std::vector<Vec>& gb) {
    ++step;
    const float lr = static_cast<float>(LearningRate());
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const float c1 = 1.0f - std::pow(b1, static_cast<float>(step)), c2 = 1.0f - std::pow(b2, static_cast<float>(step));
    for (size_t l = 0; l < w.size(); ++l) {
      mw[l] = b1 * mw[l] + (1 - b1) * gw[l];
      vw[l] = b2 * vw[l] + (1 - b2) * gw[l].cwiseAbs2();
      w[l].array() -= lr * (mw[l].array() / c1) / ((vw[l].array() / c2).sqrt() + eps);
      mb[l] = b1 * mb[l] + (1 - b1) * gb[l];
      vb[l] = b2 * vb[l] + (1 - b2) * gb[l].cwiseAbs2();
      b[l].array() -= lr * (mb[l].array() / c1) / ((vb[l].array() / c2).sqrt() + eps);
    }
  }
};

EmbeddingModel::EmbeddingModel(EmbeddingOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
EmbeddingModel::EmbeddingModel(const EmbeddingModel& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
EmbeddingModel::~EmbeddingModel() = default;

int EmbeddingModel::input_dim() const { return impl_->options.layers.front(); }
int EmbeddingModel::output_dim() const { return impl_->options.layers.back(); }
int64_t EmbeddingModel::steps_done() const { return impl_->step; }

std::vector<float> EmbeddingModel::Embed(const SparseFeatures& x) const {
  const std::vector<SparseFeatures> one = {x};
  return EmbedAll(one);
}

std::vector<float> EmbeddingModel::EmbedAll(const std::vector<SparseFeatures>& items) const {
  std::vector<float> out(items.size() * static_cast<size_t>(output_dim()));
  constexpr size_t kChunk = 2048;
  for (size_t start = 0; start < items.size(); start += kChunk) {
    const size_t n = std::min(kChunk, items.size() - start);
    std::vector<int32_t> rows(n);
    for (size_t i = 0; i < n; ++i) rows[i] = static_cast<int32_t>(start + i);
    const auto f = impl_->Run(impl_->Inputs(items, rows));
    std::copy(f.e.data(), f.e.data() + f.e.size(), out.begin() + static_cast<std::ptrdiff_t>(start * static_cast<size_t>(output_dim())));
  }
  return out;
}

StatusOr<TrainStats> EmbeddingModel::Train(const std::vector<SparseFeatures>& items,
                                           const std::vector<std::pair<int32_t, int32_t>>& pairs, int steps,
                                           std::span<const double> weights) {
  if (pairs.empty()) return InvalidArgument("embedding training needs at least one co-consumed pair");
  // Weighted draws: cumulative weights, searched with a uniform draw (importance resampling).
  std::vector<double> cumulative;
  if (!weights.empty()) {
    if (weights.size() != pairs.size()) return InvalidArgument("training weights need one weight per pair");
    double total = 0.0;
    cumulative.reserve(weights.size());
    for (double w : weights) {
      if (!(w >= 0.0) || !std::isfinite(w)) return InvalidArgument("training weights must be finite and non-negative");
      total += w;
      cumulative.push_back(total);
    }
    if (!(total > 0.0)) return InvalidArgument("training weights must not all be 0");
  }
  const auto draw = [&]() -> size_t {
    if (cumulative.empty()) return static_cast<size_t>(impl_->rng.UniformInt(pairs.size()));
    const double u = impl_->rng.Uniform() * cumulative.back();
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    return std::min(static_cast<size_t>(it - cumulative.begin()), pairs.size() - 1);
  };
  for (const auto& [a, p] : pairs) {
    if (a < 0 || p < 0 || static_cast<size_t>(a) >= items.size() || static_cast<size_t>(p) >= items.size()) {
      return InvalidArgument("a training pair names an item outside the catalog");
    }
  }
  Impl& m = *impl_;
  TrainStats stats;
  const size_t batch = std::min<size_t>(static_cast<size_t>(std::max(m.options.batch, 2)), std::max<size_t>(pairs.size(), 2));
  for (int s = 0; s < steps; ++s) {
    // Rows: anchors [0, B), positives [B, 2B).
    std::vector<int32_t> rows(2 * batch);
    for (size_t i = 0; i < batch; ++i) {
      const auto& pr = pairs[draw()];
      rows[i] = pr.first;
      rows[batch + i] = pr.second;
    }
    const SpMat x = m.Inputs(items, rows);
    const auto f = m.Run(x);
    // Hardest in-batch negative for each anchor: the most similar other positive.
    const Mat sim = f.e.topRows(static_cast<Eigen::Index>(batch)) * f.e.bottomRows(static_cast<Eigen::Index>(batch)).transpose();
    std::vector<std::array<int32_t, 3>> triplets;
    for (size_t i = 0; i < batch; ++i) {
      int32_t best = -1;
      float best_sim = -2.0f;
      for (size_t j = 0; j < batch; ++j) {
        if (j == i || rows[batch + j] == rows[batch + i] || rows[batch + j] == rows[i]) continue;
        const float v = sim(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
        if (v > best_sim) {
          best_sim = v;
          best = static_cast<int32_t>(batch + j);
        }
      }
      if (best >= 0) triplets.push_back({static_cast<int32_t>(i), static_cast<int32_t>(batch + i), best});
    }
    if (triplets.empty()) return InvalidArgument("embedding training needs pairs of at least two different items");
    Mat ge;
    const double loss = m.TripletLoss(f.e, triplets, &ge);
    std::vector<Mat> gw;
    std::vector<Vec> gb;
    m.Backward(x, f, ge, gw, gb);
    m.Adam(gw, gb);
    if (s == 0) stats.first_loss = loss;
    stats.loss = loss;
    ++stats.steps;
  }
  return stats;
}

double EmbeddingModel::LossForTriplets(const std::vector<SparseFeatures>& items,
                                       const std::vector<std::array<int32_t, 3>>& triplets, std::vector<float>* gradient) const {
  // Rows are the items themselves (triplets index items).
  std::vector<int32_t> rows(items.size());
  for (size_t i = 0; i < items.size(); ++i) rows[i] = static_cast<int32_t>(i);
  const SpMat x = impl_->Inputs(items, rows);
  const auto f = impl_->Run(x);
  Mat ge;
  const double loss = impl_->TripletLoss(f.e, triplets, gradient ? &ge : nullptr);
  if (gradient) {
    std::vector<Mat> gw;
    std::vector<Vec> gb;
    impl_->Backward(x, f, ge, gw, gb);
    gradient->clear();
    for (size_t l = 0; l < gw.size(); ++l) {
      gradient->insert(gradient->end(), gw[l].data(), gw[l].data() + gw[l].size());
      gradient->insert(gradient->end(), gb[l].data(), gb[l].data() + gb[l].size());
    }
  }
  return loss;
}

std::vector<float> EmbeddingModel::Parameters() const {
  std::vector<float> p;
  for (size_t l = 0; l < impl_->w.size(); ++l) {
    p.insert(p.end(), impl_->w[l].data(), impl_->w[l].data() + impl_->w[l].size());
    p.insert(p.end(), impl_->b[l].data(), impl_->b[l].data() + impl_->b[l].size());
  }
  return p;
}

void EmbeddingModel::SetParameters(std::span<const float> params) {
  size_t at = 0;
  for (size_t l = 0; l < impl_->w.size(); ++l) {
    std::copy_n(params.begin() + static_cast<std::ptrdiff_t>(at), impl_->w[l].size(), impl_->w[l].data());
    at += static_cast<size_t>(impl_->w[l].size());
    std::copy_n(params.begin() + static_cast<std::ptrdiff_t>(at), impl_->b[l].size(), impl_->b[l].data());
    at += static_cast<size_t>(impl_->b[l].size());
  }
}

SparseFeatures ItemFeaturizer::Featurize(const std::vector<Field>& fields) const {
  SparseFeatures out;
  auto add = [&](uint64_t h, float v) {
    const int32_t bucket = static_cast<int32_t>(h % static_cast<uint64_t>(buckets_));
    for (auto& [b, value] : out) {
      if (b == bucket) {
        value += v;
        return;
      }
    }
    out.emplace_back(bucket, v);
  };
  for (const Field& f : fields) {
    if (f.values.empty()) continue;
    const float share = 1.0f / static_cast<float>(f.values.size());
    for (const std::string& v : f.values) add(HashBytes(f.name + ":" + v), share);
  }
  double norm = 0.0;
  for (const auto& [b, v] : out) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& [b, v] : out) v = static_cast<float>(v / norm);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace steward::models
