#include "sim/synthetic_ope.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/rng.h"

namespace steward::sim {
namespace {

constexpr int kFeatures = 6;  // bias, age band one-hot (3), log(1 + activity), genre affinity to the action

// Solves the kFeatures x kFeatures system a x = b (a symmetric positive definite) by Cholesky.
std::vector<double> SolveSpd(std::vector<double> a, std::vector<double> b) {
  const int n = kFeatures;
  for (int j = 0; j < n; ++j) {
    double s = a[static_cast<size_t>(j * n + j)];
    for (int k = 0; k < j; ++k) s -= a[static_cast<size_t>(j * n + k)] * a[static_cast<size_t>(j * n + k)];
    const double d = std::sqrt(std::max(s, 1e-12));
    a[static_cast<size_t>(j * n + j)] = d;
    for (int i = j + 1; i < n; ++i) {
      double t = a[static_cast<size_t>(i * n + j)];
      for (int k = 0; k < j; ++k) t -= a[static_cast<size_t>(i * n + k)] * a[static_cast<size_t>(j * n + k)];
      a[static_cast<size_t>(i * n + j)] = t / d;
    }
  }
  for (int i = 0; i < n; ++i) {  // L y = b
    for (int k = 0; k < i; ++k) b[static_cast<size_t>(i)] -= a[static_cast<size_t>(i * n + k)] * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] /= a[static_cast<size_t>(i * n + i)];
  }
  for (int i = n - 1; i >= 0; --i) {  // L^T x = y
    for (int k = i + 1; k < n; ++k) b[static_cast<size_t>(i)] -= a[static_cast<size_t>(k * n + i)] * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] /= a[static_cast<size_t>(i * n + i)];
  }
  return b;
}

}  // namespace

StatusOr<SyntheticScenario> ParseSyntheticScenario(const std::string& name) {
  if (name == "genre-shelf") return SyntheticScenario::kGenreShelf;
  if (name == "item-click") return SyntheticScenario::kItemClick;
  return InvalidArgument("--scenario must be genre-shelf or item-click, got '" + name + "'");
}

const char* SyntheticScenarioName(SyntheticScenario scenario) {
  return scenario == SyntheticScenario::kGenreShelf ? "genre-shelf" : "item-click";
}

SyntheticOpe::SyntheticOpe(const sim::World& world, SyntheticScenario scenario, int actions)
    : users_(static_cast<int>(world.users().size())) {
  const int categories = world.config().num_categories;
  k_ = scenario == SyntheticScenario::kGenreShelf ? categories : actions;
  p_.assign(static_cast<size_t>(users_ * k_), 0.0);
  pi_e_.resize(p_.size());
  features_.assign(static_cast<size_t>(users_ * k_ * kFeatures), 0.0);
  // Per (user, action): the true reward probability and the action's genre affinity as a production
  // system would observe it.
  std::vector<double> affinity(p_.size(), 0.0);
  std::vector<double> logging_score(static_cast<size_t>(k_), 0.0);  // the production order, best first
  if (scenario == SyntheticScenario::kItemClick) {
    // Actions: items spread over the 200 most popular (ranks 0, 10, 20, ...); reward: a click at
    // position 1. Affinity: the user's favourite genres, weighted by rank.
    std::vector<size_t> order(world.items().size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return world.item(a).popularity > world.item(b).popularity; });
    std::vector<size_t> items;
    for (int a = 0; a < k_; ++a) items.push_back(order[static_cast<size_t>(a) * 10 % order.size()]);
    for (int u = 0; u < users_; ++u) {
      const sim::User& user = world.users()[static_cast<size_t>(u)];
      for (int a = 0; a < k_; ++a) {
        p_[static_cast<size_t>(u * k_ + a)] = world.ClickProbability(static_cast<size_t>(u), items[static_cast<size_t>(a)], 1);
        const int category = world.item(items[static_cast<size_t>(a)]).category;
        for (size_t c = 0; c < user.favourite_categories.size(); ++c) {
          if (user.favourite_categories[c] == category) affinity[static_cast<size_t>(u * k_ + a)] += 1.0 / (1.0 + static_cast<double>(c));
        }
      }
    }
    for (int a = 0; a < k_; ++a) logging_score[static_cast<size_t>(a)] = -a;  // popularity rank
  } else {
    // Actions: which genre shelf opens the home page; reward: the user's next book comes from that
    // shelf. The world's choice model gives the truth: P(next read in genre a) is genre a's share
    // of the user's attraction over the catalogue. Affinity: the genre's share of 20 past reads
    // drawn from the same model (what the user's history shows).
    Rng history_rng(11);
    for (int u = 0; u < users_; ++u) {
      double total = 0;
      for (size_t i = 0; i < world.items().size(); ++i) {
        const double w = world.ClickProbability(static_cast<size_t>(u), i, 1);
        p_[static_cast<size_t>(u * k_ + world.item(i).category)] += w;
        total += w;
      }
      std::vector<double> cdf(static_cast<size_t>(k_));
      double c = 0;
      for (int a = 0; a < k_; ++a) {
        double& p = p_[static_cast<size_t>(u * k_ + a)];
        p = total > 0 ? p / total : 1.0 / k_;
        c += p;
        cdf[static_cast<size_t>(a)] = c;
      }
      constexpr int kHistory = 20;
      for (int h = 0; h < kHistory; ++h) {
        const double x = history_rng.Uniform() * c;
        const int a = std::min(k_ - 1, static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin()));
        affinity[static_cast<size_t>(u * k_ + a)] += 1.0 / kHistory;
      }
    }
    for (size_t i = 0; i < world.items().size(); ++i) logging_score[static_cast<size_t>(world.item(i).category)] += world.item(i).popularity;
    std::vector<int> order(static_cast<size_t>(k_));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logging_score[static_cast<size_t>(a)] > logging_score[static_cast<size_t>(b)]; });
    for (int r = 0; r < k_; ++r) logging_score[static_cast<size_t>(order[static_cast<size_t>(r)])] = -r;
  }
  Rng noise(7);
  for (int u = 0; u < users_; ++u) {
    const sim::User& user = world.users()[static_cast<size_t>(u)];
    // Observable features per (user, action): the age band, activity and the genre affinity.
    for (int a = 0; a < k_; ++a) {
      double* f = &features_[static_cast<size_t>((u * k_ + a) * kFeatures)];
      f[0] = 1.0;
      f[1 + static_cast<int>(user.age)] = 1.0;
      f[4] = std::log1p(user.activity);
      f[5] = affinity[static_cast<size_t>(u * k_ + a)];
    }
    // The evaluated policy: a softmax over a noisy view of the true log-odds.
    std::vector<double> s(static_cast<size_t>(k_));
    for (int a = 0; a < k_; ++a) {
      const double p = std::clamp(p_[static_cast<size_t>(u * k_ + a)], 1e-9, 1 - 1e-9);
      s[static_cast<size_t>(a)] = std::log(p / (1 - p)) + 0.5 * noise.Normal();
    }
    const double mx = *std::max_element(s.begin(), s.end());
    double z = 0;
    for (int a = 0; a < k_; ++a) z += std::exp(s[static_cast<size_t>(a)] - mx);
    for (int a = 0; a < k_; ++a) pi_e_[static_cast<size_t>(u * k_ + a)] = std::exp(s[static_cast<size_t>(a)] - mx) / z;
  }
  // The logging policy: a softmax over the production order (popularity), same for all users.
  pi_0_.resize(static_cast<size_t>(k_));
  double z = 0;
  for (int a = 0; a < k_; ++a) z += std::exp(0.15 * logging_score[static_cast<size_t>(a)]);
  for (int a = 0; a < k_; ++a) pi_0_[static_cast<size_t>(a)] = std::exp(0.15 * logging_score[static_cast<size_t>(a)]) / z;
  for (int u = 0; u < users_; ++u) {
    for (int a = 0; a < k_; ++a) {
      true_value_ += pi_e_[static_cast<size_t>(u * k_ + a)] * p_[static_cast<size_t>(u * k_ + a)];
      logging_value_ += pi_0_[static_cast<size_t>(a)] * p_[static_cast<size_t>(u * k_ + a)];
    }
  }
  true_value_ /= users_;
  logging_value_ /= users_;
}

SyntheticLog SyntheticOpe::Generate(int64_t n, double eps, uint64_t seed) const {
  Rng rng(seed);
  std::vector<double> logging(static_cast<size_t>(k_)), cdf(static_cast<size_t>(k_));
  double c = 0;
  for (int a = 0; a < k_; ++a) {
    logging[static_cast<size_t>(a)] = (1 - eps) * pi_0_[static_cast<size_t>(a)] + eps / k_;
    c += logging[static_cast<size_t>(a)];
    cdf[static_cast<size_t>(a)] = c;
  }
  std::vector<int> user(static_cast<size_t>(n)), action(static_cast<size_t>(n));
  SyntheticLog d;
  d.reward.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int u = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(users_)));
    const double x = rng.Uniform() * c;
    const int a = std::min(k_ - 1, static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin()));
    user[static_cast<size_t>(i)] = u;
    action[static_cast<size_t>(i)] = a;
    d.reward[static_cast<size_t>(i)] = rng.Bernoulli(p_[static_cast<size_t>(u * k_ + a)]) ? 1.0 : 0.0;
  }
  // Reward model: per-action ridge regression of the click on the observable user features.
  std::vector<std::vector<double>> xtx(static_cast<size_t>(k_), std::vector<double>(kFeatures * kFeatures, 0.0));
  std::vector<std::vector<double>> xty(static_cast<size_t>(k_), std::vector<double>(kFeatures, 0.0));
  for (int64_t i = 0; i < n; ++i) {
    const int a = action[static_cast<size_t>(i)];
    const double* f = &features_[static_cast<size_t>((user[static_cast<size_t>(i)] * k_ + a) * kFeatures)];
    for (int r = 0; r < kFeatures; ++r) {
      for (int s = 0; s < kFeatures; ++s) xtx[static_cast<size_t>(a)][static_cast<size_t>(r * kFeatures + s)] += f[r] * f[s];
      xty[static_cast<size_t>(a)][static_cast<size_t>(r)] += f[r] * d.reward[static_cast<size_t>(i)];
    }
  }
  std::vector<std::vector<double>> beta(static_cast<size_t>(k_));
  for (int a = 0; a < k_; ++a) {
    for (int r = 0; r < kFeatures; ++r) xtx[static_cast<size_t>(a)][static_cast<size_t>(r * kFeatures + r)] += 1.0;  // ridge
    beta[static_cast<size_t>(a)] = SolveSpd(xtx[static_cast<size_t>(a)], xty[static_cast<size_t>(a)]);
  }
  // q(u, a) and v_dm(u) per user, then per row.
  std::vector<double> q(static_cast<size_t>(users_ * k_)), v(static_cast<size_t>(users_), 0.0);
  for (int u = 0; u < users_; ++u) {
    for (int a = 0; a < k_; ++a) {
      const double* f = &features_[static_cast<size_t>((u * k_ + a) * kFeatures)];
      double s = 0;
      for (int r = 0; r < kFeatures; ++r) s += beta[static_cast<size_t>(a)][static_cast<size_t>(r)] * f[r];
      q[static_cast<size_t>(u * k_ + a)] = std::clamp(s, 0.0, 1.0);
      v[static_cast<size_t>(u)] += pi_e_[static_cast<size_t>(u * k_ + a)] * q[static_cast<size_t>(u * k_ + a)];
    }
  }
  d.weight.resize(static_cast<size_t>(n));
  d.q_logged.resize(static_cast<size_t>(n));
  d.v_dm.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int u = user[static_cast<size_t>(i)], a = action[static_cast<size_t>(i)];
    d.weight[static_cast<size_t>(i)] = pi_e_[static_cast<size_t>(u * k_ + a)] / logging[static_cast<size_t>(a)];
    d.q_logged[static_cast<size_t>(i)] = q[static_cast<size_t>(u * k_ + a)];
    d.v_dm[static_cast<size_t>(i)] = v[static_cast<size_t>(u)];
  }
  return d;
}

}  // namespace steward::sim
