#include "shadow/ope_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/rng.h"
#include "shadow/replay.h"

namespace steward::shadow {
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

OpeData SyntheticOpe::Generate(int64_t n, double eps, uint64_t seed) const {
  Rng rng(seed);
  std::vector<double> logging(static_cast<size_t>(k_)), cdf(static_cast<size_t>(k_));
  double c = 0;
  for (int a = 0; a < k_; ++a) {
    logging[static_cast<size_t>(a)] = (1 - eps) * pi_0_[static_cast<size_t>(a)] + eps / k_;
    c += logging[static_cast<size_t>(a)];
    cdf[static_cast<size_t>(a)] = c;
  }
  std::vector<int> user(static_cast<size_t>(n)), action(static_cast<size_t>(n));
  OpeData d;
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

StatusOr<SlateModel> ParseSlateModel(const std::string& name) {
  if (name == "per-position") return SlateModel::kPerPosition;
  if (name == "position-based") return SlateModel::kPositionBased;
  return InvalidArgument("--slate must be per-position or position-based, got '" + name + "'");
}

StatusOr<ObdOpe> BuildObdOpe(const data::ObdLog& log, const std::string& policy, uint64_t seed) {
  ObdOpeOptions options;
  options.policy = policy;
  options.seed = seed;
  return BuildObdOpe(log, options);
}

StatusOr<ObdOpe> BuildObdOpe(const data::ObdLog& log, const ObdOpeOptions& options) {
  const std::string& policy = options.policy;
  if (policy != "uniform" && policy != "linucb" && policy != "lints" && policy != "egreedy") {
    return InvalidArgument("--policy must be uniform, linucb, lints or egreedy, got '" + policy + "'");
  }
  const int k = log.n_items;
  const size_t n = log.rows.size();
  if (k < 1 || n == 0) return InvalidArgument(log.path + ": the log has no rows or no items to evaluate");
  int positions = 0;
  for (const auto& r : log.rows) positions = std::max(positions, static_cast<int>(r.position));
  const bool learned = policy != "uniform";
  const size_t eval_from = learned ? n / 2 : 0;
  // The reward model and the examination model see the rows the policy may see: the training half
  // for learned policies, all rows for the fixed uniform policy.
  const size_t fit_to = learned ? eval_from : n;
  const size_t cells = static_cast<size_t>(k * positions);
  std::vector<double> clicks(cells, 0.0), shows(cells, 0.0);
  std::vector<double> ips_clicks(static_cast<size_t>(positions), 0.0), ips_mass(static_cast<size_t>(positions), 0.0);
  double total_clicks = 0;
  for (size_t i = 0; i < fit_to; ++i) {
    const auto& r = log.rows[i];
    const size_t pos = static_cast<size_t>(r.position - 1);
    clicks[static_cast<size_t>(r.item_id) * static_cast<size_t>(positions) + pos] += r.click;
    shows[static_cast<size_t>(r.item_id) * static_cast<size_t>(positions) + pos] += 1;
    total_clicks += r.click;
    // The uniform policy's click rate at this position by importance weighting (self-normalised).
    const double w = 1.0 / (k * r.propensity);
    ips_clicks[pos] += w * r.click;
    ips_mass[pos] += w;
  }
  ObdOpe out;
  out.positions = positions;
  out.examination.assign(static_cast<size_t>(positions), 1.0);
  const double ctr1 = ips_mass[0] > 0 ? ips_clicks[0] / ips_mass[0] : 0.0;
  for (int p = 1; p < positions; ++p) {
    const double ctr = ips_mass[static_cast<size_t>(p)] > 0 ? ips_clicks[static_cast<size_t>(p)] / ips_mass[static_cast<size_t>(p)] : 0.0;
    out.examination[static_cast<size_t>(p)] = ctr1 > 0 && ctr > 0 ? ctr / ctr1 : 1.0;
  }
  const double prior = fit_to ? total_clicks / static_cast<double>(fit_to) : 0.0;
  // Reward models: per (item, position) smoothed click rate, or theta_k * alpha(a) under the
  // position-based model with alpha(a) = clicks(a) / sum_k shows(a, k) theta_k, smoothed.
  std::vector<double> alpha(static_cast<size_t>(k), 0.0);
  double theta_mean = 0;
  for (double t : out.examination) theta_mean += t / positions;
  for (int a = 0; a < k; ++a) {
    double c = 0, exposure = 0;
    for (int p = 0; p < positions; ++p) {
      c += clicks[static_cast<size_t>(a * positions + p)];
      exposure += shows[static_cast<size_t>(a * positions + p)] * out.examination[static_cast<size_t>(p)];
    }
    alpha[static_cast<size_t>(a)] = (c + 10.0 * prior / std::max(theta_mean, 1e-9)) / (exposure + 10.0);
  }
  const bool pbm = options.slate == SlateModel::kPositionBased;
  auto q = [&](int item, int position) {
    if (pbm) return out.examination[static_cast<size_t>(position - 1)] * alpha[static_cast<size_t>(item)];
    const size_t at = static_cast<size_t>(item * positions + position - 1);
    return (clicks[at] + 10.0 * prior) / (shows[at] + 10.0);
  };
  std::unique_ptr<models::Bandit> bandit;
  if (learned) {
    ASSIGN_OR_RETURN(models::PolicyKind kind, models::ParsePolicy(policy));
    models::BanditOptions o;
    o.kind = kind;
    o.dim = ObdContextDim(k);
    o.seed = options.seed;
    bandit = std::make_unique<models::Bandit>(o);
  }
  std::vector<float> x;
  std::vector<int64_t> arms(static_cast<size_t>(k));
  std::iota(arms.begin(), arms.end(), 0);
  if (bandit) {
    for (size_t i = 0; i < eval_from; ++i) {  // off-line fit on the logged decisions
      ObdContext(log.rows[i], k, x);
      bandit->Update(log.rows[i].item_id, x, log.rows[i].click);
    }
  }
  // probs[p * k + a]: the evaluated policy's probability of item a at position p + 1.
  std::vector<double> probs(static_cast<size_t>(k * positions));
  std::vector<double> scores;
  std::vector<int> order(static_cast<size_t>(k));
  const auto rank_into = [&](double mass) {  // position p gets the p-th best item
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)]; });
    for (int p = 0; p < positions && p < k; ++p) probs[static_cast<size_t>(p * k + order[static_cast<size_t>(p)])] += mass;
  };
  for (size_t i = eval_from; i < n; ++i) {
    const auto& r = log.rows[i];
    if (!bandit) {
      std::fill(probs.begin(), probs.end(), 1.0 / k);
    } else if (bandit->options().kind == models::PolicyKind::kLinTs) {
      ObdContext(r, k, x);
      std::fill(probs.begin(), probs.end(), 0.0);
      for (int s = 0; s < 64; ++s) {
        bandit->Score(arms, x, scores);
        rank_into(1.0 / 64);
      }
    } else {
      ObdContext(r, k, x);
      bandit->Score(arms, x, scores);  // LinUCB scores, or means for epsilon-greedy
      const double eps = bandit->options().kind == models::PolicyKind::kEpsilonGreedy ? bandit->options().epsilon : 0.0;
      std::fill(probs.begin(), probs.end(), eps / k);
      rank_into(1.0 - eps);
    }
    const int pos = r.position;
    double weight, v = 0, reward = r.click, q_logged = q(r.item_id, pos);
    if (pbm) {
      // Written as an importance weight with mean 1 times an examination-adjusted reward, so
      // self-normalisation (SNIPS) and the weight diagnostics keep their meaning:
      //   w = sum_j pi_e(a at j) theta_j / (L theta_bar pi_0(a at k)),  r' = r theta_bar / theta_k.
      double pooled = 0;
      for (int p = 0; p < positions; ++p) {
        pooled += probs[static_cast<size_t>(p * k + r.item_id)] * out.examination[static_cast<size_t>(p)];
        for (int a = 0; a < k; ++a) v += probs[static_cast<size_t>(p * k + a)] * q(a, p + 1);
      }
      weight = pooled / (positions * theta_mean * r.propensity);
      const double adjust = theta_mean / out.examination[static_cast<size_t>(pos - 1)];
      reward *= adjust;
      q_logged *= adjust;
      v /= positions;
    } else {
      weight = probs[static_cast<size_t>((pos - 1) * k + r.item_id)] / r.propensity;
      for (int a = 0; a < k; ++a) v += probs[static_cast<size_t>((pos - 1) * k + a)] * q(a, pos);
    }
    out.data.reward.push_back(reward);
    out.data.weight.push_back(weight);
    out.data.q_logged.push_back(q_logged);
    out.data.v_dm.push_back(v);
  }
  out.rows_evaluated = static_cast<int64_t>(out.data.size());
  out.note = std::string(learned ? "policy fitted on the first half of the log, evaluated on the second" : "uniform policy over all rows") +
             (pbm ? "; position-based examination model" : "; per-position propensities");
  return out;
}

}  // namespace steward::shadow
