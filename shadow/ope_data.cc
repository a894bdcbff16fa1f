#include "shadow/ope_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/rng.h"
#include "shadow/replay.h"
#include "shadow/slate_ope.h"

namespace steward::shadow {

OpeData FromSyntheticLog(sim::SyntheticLog log) {
  OpeData d;
  d.reward = std::move(log.reward);
  d.weight = std::move(log.weight);
  d.q_logged = std::move(log.q_logged);
  d.v_dm = std::move(log.v_dm);
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
      weight = PositionBasedWeight(pooled, r.propensity, theta_mean, 1.0 / positions);  // shadow/slate_ope.h
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
