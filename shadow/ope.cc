#include "shadow/ope.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/hash.h"
#include "common/rng.h"
#include "experiment/stats.h"

namespace steward::shadow {
namespace {

// Per-row terms whose mean is the estimate (all but SNIPS).
std::vector<double> Terms(const OpeData& d, const std::string& name, const OpeOptions& o) {
  const size_t n = d.size();
  std::vector<double> t(n);
  for (size_t i = 0; i < n; ++i) {
    const double w = d.weight[i], r = d.reward[i];
    if (name == "ips") {
      t[i] = std::min(w, o.ips_clip) * r;
    } else if (name == "dm") {
      t[i] = d.v_dm[i];
    } else if (name == "dr") {
      t[i] = d.v_dm[i] + w * (r - d.q_logged[i]);
    } else if (name == "switch-dr") {
      t[i] = d.v_dm[i] + (w <= o.switch_tau ? w * (r - d.q_logged[i]) : 0.0);
    } else {  // dros
      const double w_os = o.dros_lambda * w / (w * w + o.dros_lambda);
      t[i] = d.v_dm[i] + w_os * (r - d.q_logged[i]);
    }
  }
  return t;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double Snips(const OpeData& d, const std::vector<size_t>* idx) {
  double num = 0, den = 0;
  const size_t n = idx ? idx->size() : d.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = idx ? (*idx)[k] : k;
    num += d.weight[i] * d.reward[i];
    den += d.weight[i];
  }
  return den > 0 ? num / den : 0.0;
}

}  // namespace

const std::vector<std::string>& EstimatorNames() {
  static const std::vector<std::string> names = {"ips", "snips", "dm", "dr", "switch-dr", "dros"};
  return names;
}

StatusOr<std::map<std::string, Estimate>> Evaluate(const OpeData& d, const std::vector<std::string>& estimators,
                                                   const OpeOptions& o) {
  const size_t n = d.size();
  if (n < 2) return InvalidArgument("off-policy evaluation needs at least 2 logged rows");
  if (d.weight.size() != n || d.q_logged.size() != n || d.v_dm.size() != n) {
    return InvalidArgument("off-policy data columns have different lengths");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!(d.weight[i] >= 0) || !std::isfinite(d.weight[i])) {
      return InvalidArgument("row " + std::to_string(i) + ": importance weight must be finite and >= 0; check the logged propensities");
    }
  }
  const double z = experiment::TwoSidedCriticalValue(o.alpha);
  std::map<std::string, Estimate> out;
  for (const std::string& name : estimators) {
    if (std::find(EstimatorNames().begin(), EstimatorNames().end(), name) == EstimatorNames().end()) {
      return InvalidArgument("unknown estimator '" + name + "'; known: ips, snips, dm, dr, switch-dr, dros");
    }
    Estimate e;
    std::vector<double> terms;
    if (name == "snips") {
      e.value = Snips(d, nullptr);
      // Delta method: terms w (r - V) / mean(w).
      const double mw = Mean(d.weight);
      terms.resize(n);
      for (size_t i = 0; i < n; ++i) terms[i] = d.weight[i] * (d.reward[i] - e.value) / (mw > 0 ? mw : 1.0);
    } else {
      terms = Terms(d, name, o);
      e.value = Mean(terms);
    }
    const bool constant = std::all_of(terms.begin(), terms.end(), [&](double t) { return t == terms.front(); });
    if (constant) {
      e.ci_low = e.ci_high = std::numeric_limits<double>::quiet_NaN();
      e.ci_undefined = "all " + std::to_string(n) + " rows contribute the same term (e.g. no clicks in the log): " +
                       "the sample has no variance, so no interval can be estimated from it";
    } else if (o.bootstrap > 0) {
      Rng rng(o.seed ^ HashBytes(name));
      std::vector<double> stats;
      std::vector<size_t> idx(n);
      for (int b = 0; b < o.bootstrap; ++b) {
        for (size_t i = 0; i < n; ++i) idx[i] = static_cast<size_t>(rng.UniformInt(n));
        if (name == "snips") {
          stats.push_back(Snips(d, &idx));
        } else {
          double s = 0;
          for (size_t i : idx) s += terms[i];
          stats.push_back(s / static_cast<double>(n));
        }
      }
      std::sort(stats.begin(), stats.end());
      const auto at = [&](double q) {
        return stats[std::min(stats.size() - 1, static_cast<size_t>(q * static_cast<double>(stats.size())))];
      };
      e.ci_low = at(o.alpha / 2);
      e.ci_high = at(1 - o.alpha / 2);
    } else {
      const double m = Mean(terms);
      double ss = 0;
      for (double t : terms) ss += (t - m) * (t - m);
      const double se = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
      e.ci_low = e.value - z * se;
      e.ci_high = e.value + z * se;
    }
    out[name] = e;
  }
  return out;
}

OpeDiagnostics Diagnose(const OpeData& d) {
  OpeDiagnostics g;
  double sw = 0, sw2 = 0;
  for (double w : d.weight) {
    sw += w;
    sw2 += w * w;
    g.max_weight = std::max(g.max_weight, w);
  }
  const double n = static_cast<double>(d.size());
  g.ess = sw2 > 0 ? sw * sw / sw2 : 0.0;
  g.mean_weight = n > 0 ? sw / n : 0.0;
  std::string why;
  if (n > 0 && g.ess < 0.01 * n) why = "effective sample size " + std::to_string(static_cast<int64_t>(g.ess)) + " is under 1% of the rows";
  if (g.max_weight > 0.05 * sw && sw > 0) {
    why += (why.empty() ? "" : "; ") + std::string("one row carries more than 5% of the total weight");
  }
  if (n > 0 && std::fabs(g.mean_weight - 1.0) > 0.1) {
    why += (why.empty() ? "" : "; ") + std::string("mean weight ") + std::to_string(g.mean_weight) +
           " is far from 1 (wrong propensities or a policy outside the log's support)";
  }
  g.unreliable = !why.empty();
  if (g.unreliable) g.warning = "importance-weighted estimates are unreliable: " + why;
  return g;
}

}  // namespace steward::shadow
