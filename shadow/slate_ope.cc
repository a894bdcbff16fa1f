#include "shadow/slate_ope.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "experiment/stats.h"

namespace steward::shadow {
namespace {

Status Check(const std::vector<LoggedSlate>& logs, const SlateOpeOptions& o) {
  if (logs.empty()) return InvalidArgument("slate off-policy evaluation needs at least one logged list");
  if (o.em_iterations < 1) return InvalidArgument("em_iterations must be at least 1");
  if (!(o.shrinkage >= 0)) return InvalidArgument("shrinkage must be >= 0");
  if (!(o.switch_tau > 0)) return InvalidArgument("switch_tau must be > 0");
  if (!(o.alpha > 0 && o.alpha < 1)) return InvalidArgument("alpha must be in (0, 1)");
  for (size_t i = 0; i < logs.size(); ++i) {
    const LoggedSlate& s = logs[i];
    if (s.propensity.size() != s.items.size() || s.clicks.size() != s.items.size()) {
      return InvalidArgument("logged list " + std::to_string(i) + ": items, propensity and clicks differ in length");
    }
    if ((!s.item_context.empty() && s.item_context.size() != s.items.size()) ||
        (!s.target_context.empty() && s.target_context.size() != s.target.size())) {
      return InvalidArgument("logged list " + std::to_string(i) + ": a context column differs in length from its list");
    }
    for (double p : s.propensity) {
      if (!(p > 0 && p <= 1)) {
        return InvalidArgument("logged list " + std::to_string(i) + ": propensity " + std::to_string(p) + " is outside (0, 1]");
      }
    }
  }
  return Status::Ok();
}

int GroupOf(int64_t item, const std::unordered_map<int64_t, int>& item_group) {
  auto it = item_group.find(item);
  return it == item_group.end() ? -1 : it->second;
}

// Mean of x / y over the added units with a delta-method interval (experiment/stats), as an Estimate.
Estimate FromRatio(const experiment::RatioSums& s, double z, double minus) {
  Estimate e;
  e.value = s.ratio() - minus;
  const double var = experiment::DeltaMethodVariance(s);
  if (!(var > 0)) {
    e.ci_low = e.ci_high = std::numeric_limits<double>::quiet_NaN();
    e.ci_undefined = s.sy > 0 ? "every list contributes the same value: no variance to build an interval from"
                              : "the denominator is 0 (no logged clicks)";
    return e;
  }
  e.ci_low = e.value - z * std::sqrt(var);
  e.ci_high = e.value + z * std::sqrt(var);
  return e;
}

}  // namespace

double PositionBasedWeight(double target_mass, double logging_probability, double theta_k, double share) {
  if (!(logging_probability > 0) || !(theta_k > 0)) return 0.0;
  return target_mass * share / (logging_probability * theta_k);
}

double PositionBasedModel::Attraction(int64_t item, const std::unordered_map<int64_t, int>& item_group, int context) const {
  double a = global_attraction;
  if (auto it = attraction.find(item); it != attraction.end()) {
    a = it->second;
  } else if (auto g = group_attraction.find(GroupOf(item, item_group)); g != group_attraction.end()) {
    a = g->second;
  }
  const double f = context >= 0 && static_cast<size_t>(context) < context_factor.size() ? context_factor[static_cast<size_t>(context)] : 1.0;
  return std::min(a * f, 0.999);
}

StatusOr<PositionBasedModel> FitPositionBasedModel(const std::vector<LoggedSlate>& logs, const SlateOpeOptions& o) {
  RETURN_IF_ERROR(Check(logs, o));
  // Flatten the impressions once: item index, position, click.
  std::unordered_map<int64_t, int> index;
  std::vector<int64_t> items;
  std::vector<int> row_item, row_pos, row_ctx;
  int contexts = 1;
  std::vector<uint8_t> row_click;
  int positions = 0;
  double clicks = 0;
  for (const LoggedSlate& s : logs) {
    positions = std::max(positions, static_cast<int>(s.items.size()));
    for (size_t k = 0; k < s.items.size(); ++k) {
      auto [it, added] = index.emplace(s.items[k], static_cast<int>(items.size()));
      if (added) items.push_back(s.items[k]);
      row_item.push_back(it->second);
      row_pos.push_back(static_cast<int>(k));
      row_click.push_back(s.clicks[k] ? 1 : 0);
      row_ctx.push_back(s.item_context.empty() ? 0 : s.item_context[k]);
      contexts = std::max(contexts, row_ctx.back() + 1);
      clicks += s.clicks[k] ? 1 : 0;
    }
  }
  if (positions == 0) return InvalidArgument("slate off-policy evaluation: every logged list is empty");
  const size_t n_items = items.size(), n_rows = row_item.size();
  std::vector<int> group(n_items);
  for (size_t a = 0; a < n_items; ++a) group[a] = GroupOf(items[a], o.item_group);
  // Start from each position's click rate relative to position 1 (clamped to [0.01, 1]): with rare
  // clicks EM moves theta slowly (a row without a click mostly returns the current theta), so a
  // flat start would stop near where it started.
  std::vector<double> pos_clicks(static_cast<size_t>(positions), 0.0), pos_rows(static_cast<size_t>(positions), 0.0);
  for (size_t i = 0; i < row_item.size(); ++i) {
    pos_clicks[static_cast<size_t>(row_pos[i])] += row_click[i];
    pos_rows[static_cast<size_t>(row_pos[i])] += 1;
  }
  std::vector<double> theta(static_cast<size_t>(positions), 0.5);
  const double ctr1 = pos_rows[0] > 0 ? pos_clicks[0] / pos_rows[0] : 0.0;
  for (size_t k = 1; k < theta.size(); ++k) {
    if (ctr1 > 0 && pos_rows[k] > 0) theta[k] = std::clamp(pos_clicks[k] / pos_rows[k] / ctr1, 0.01, 1.0);
  }
  theta[0] = 1.0;
  const double start = std::clamp(clicks / static_cast<double>(n_rows) / 0.5, 1e-6, 0.5);
  std::vector<double> alpha(n_items, start);
  std::vector<double> e_sum(static_cast<size_t>(positions)), e_n(static_cast<size_t>(positions));
  std::vector<double> r_sum(n_items), r_n(n_items);
  std::vector<double> factor(static_cast<size_t>(contexts), 1.0), c_r(factor.size()), c_a(factor.size()), c_n(factor.size());
  std::unordered_map<int, std::pair<double, double>> group_sums;
  PositionBasedModel m;
  for (int iter = 0; iter < o.em_iterations; ++iter) {
    const std::vector<double> previous = theta;
    std::fill(e_sum.begin(), e_sum.end(), 0.0);
    std::fill(e_n.begin(), e_n.end(), 0.0);
    std::fill(r_sum.begin(), r_sum.end(), 0.0);
    std::fill(r_n.begin(), r_n.end(), 0.0);
    std::fill(c_r.begin(), c_r.end(), 0.0);
    std::fill(c_a.begin(), c_a.end(), 0.0);
    std::fill(c_n.begin(), c_n.end(), 0.0);
    for (size_t i = 0; i < n_rows; ++i) {
      const size_t a = static_cast<size_t>(row_item[i]), k = static_cast<size_t>(row_pos[i]);
      const size_t b = static_cast<size_t>(row_ctx[i]);
      double e = 1.0, r = 1.0;  // a click: examined and attracted
      if (!row_click[i]) {      // posteriors of "examined" and "attracted" given no click
        const double t = theta[k], al = std::min(alpha[a] * factor[b], 0.999), denom = std::max(1e-12, 1.0 - t * al);
        e = t * (1.0 - al) / denom;
        r = (1.0 - t) * al / denom;
      }
      e_sum[k] += e;
      e_n[k] += 1;
      r_sum[a] += r;
      r_n[a] += factor[b];  // the item's expected attraction mass: sum of its contexts' factors
      c_r[b] += r;
      c_a[b] += alpha[a];
      c_n[b] += 1;
    }
    for (size_t k = 1; k < theta.size(); ++k) theta[k] = e_n[k] > 0 ? e_sum[k] / e_n[k] : theta[k - 1];
    group_sums.clear();
    double all_r = 0, all_n = 0;
    for (size_t a = 0; a < n_items; ++a) {
      group_sums[group[a]].first += r_sum[a];
      group_sums[group[a]].second += r_n[a];
      all_r += r_sum[a];
      all_n += r_n[a];
    }
    m.global_attraction = all_n > 0 ? all_r / all_n : 0.0;
    m.group_attraction.clear();
    for (const auto& [g, sn] : group_sums) m.group_attraction[g] = sn.second > 0 ? sn.first / sn.second : m.global_attraction;
    for (size_t a = 0; a < n_items; ++a) {
      alpha[a] = (r_sum[a] + o.shrinkage * m.group_attraction[group[a]]) / (r_n[a] + o.shrinkage);
    }
    // Context factors (a generalised EM step: alpha held at this iteration's values), scaled to
    // mean 1 over the impressions so alpha keeps its meaning.
    if (contexts > 1) {
      double mean = 0;
      for (size_t b = 0; b < factor.size(); ++b) {
        factor[b] = c_a[b] > 0 ? (c_r[b] + 1.0) / (c_a[b] + 1.0) : 1.0;  // one pseudo-impression at factor 1
        mean += factor[b] * c_n[b] / static_cast<double>(n_rows);
      }
      for (double& f : factor) f /= mean > 0 ? mean : 1.0;
    }
    double change = 0;
    for (size_t k = 0; k < theta.size(); ++k) change = std::max(change, std::fabs(theta[k] - previous[k]));
    m.iterations = iter + 1;
    if (change < o.em_tolerance) break;
  }
  m.examination = theta;
  m.context_factor = factor;
  for (size_t a = 0; a < n_items; ++a) m.attraction[items[a]] = alpha[a];
  return m;
}

StatusOr<SlateEstimate> EstimateSlateValue(const std::vector<LoggedSlate>& logs, const PositionBasedModel& model,
                                           const SlateOpeOptions& o) {
  RETURN_IF_ERROR(Check(logs, o));
  if (logs.size() < 2) return InvalidArgument("slate off-policy evaluation needs at least 2 logged lists for an interval");
  const std::vector<double>& theta = model.examination;
  const size_t positions = theta.size();
  SlateEstimate out;
  out.lists = static_cast<int64_t>(logs.size());
  out.positions = static_cast<int>(positions);
  out.examination = theta;
  out.context_factor = model.context_factor;
  experiment::RatioSums logged, dm, ips, dr, lift;
  double target_mass = 0, supported_mass = 0, sum_w = 0, sum_w2 = 0;
  for (size_t i = 0; i < logs.size(); ++i) {
    const LoggedSlate& s = logs[i];
    if (s.items.size() > positions || s.target.size() > positions) {
      return InvalidArgument("list " + std::to_string(i) + " is longer than the click model's " + std::to_string(positions) + " positions");
    }
    const auto mass_of = [&](int64_t item) {  // G(a) = sum_j 1[h_j = a] theta_j
      double g = 0;
      for (size_t j = 0; j < s.target.size(); ++j) g += s.target[j] == item ? theta[j] : 0.0;
      return g;
    };
    double v_logged = 0, v_dm = 0, v_ips = 0, v_dr = 0;
    for (size_t j = 0; j < s.target.size(); ++j) {
      v_dm += theta[j] * model.Attraction(s.target[j], o.item_group, s.target_context.empty() ? 0 : s.target_context[j]);
      target_mass += theta[j];
    }
    v_dr = v_dm;
    for (size_t k = 0; k < s.items.size(); ++k) {
      const double c = s.clicks[k] ? 1.0 : 0.0;
      v_logged += c;
      const double g_mass = mass_of(s.items[k]);
      if (g_mass <= 0) continue;
      const double w = PositionBasedWeight(g_mass, s.propensity[k], theta[k], 1.0);
      out.max_weight = std::max(out.max_weight, w);
      sum_w += w;
      sum_w2 += w * w;
      v_ips += w * c;
      if (w <= o.switch_tau) {
        v_dr += w * (c - theta[k] * model.Attraction(s.items[k], o.item_group, s.item_context.empty() ? 0 : s.item_context[k]));
        supported_mass += g_mass;
        out.supported_clicks += s.clicks[k] ? 1 : 0;
      } else {
        ++out.switched_rows;
      }
    }
    logged.Add(v_logged, 1);
    dm.Add(v_dm, 1);
    ips.Add(v_ips, 1);
    dr.Add(v_dr, 1);
    lift.Add(v_dr, v_logged);
  }
  const double z = experiment::TwoSidedCriticalValue(o.alpha);
  out.logged = FromRatio(logged, z, 0);
  out.dm = FromRatio(dm, z, 0);
  out.ips = FromRatio(ips, z, 0);
  out.dr = FromRatio(dr, z, 0);
  if (lift.sy > 0) {
    out.lift = FromRatio(lift, z, 1.0);
  } else {
    out.lift.value = out.lift.ci_low = out.lift.ci_high = std::numeric_limits<double>::quiet_NaN();
    out.lift.ci_undefined = "no logged clicks: the relative lift is undefined";
  }
  out.supported_share = target_mass > 0 ? supported_mass / target_mass : 0.0;
  out.ess = sum_w2 > 0 ? sum_w * sum_w / sum_w2 : 0.0;
  return out;
}

}  // namespace steward::shadow
