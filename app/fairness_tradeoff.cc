#include "app/fairness_tradeoff.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/simulate.h"
#include "charts/charts.h"
#include "common/json.h"
#include "fairness/metrics.h"

namespace steward::app {
namespace {

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

StatusOr<FairnessTradeoff> RunFairnessTradeoff(const FairnessTradeoffOptions& o) {
  if (o.seeds.empty()) return InvalidArgument("seeds must name at least one seed");
  FairnessTradeoff t;
  for (uint64_t seed : o.seeds) {
    SimulateOptions s;
    s.policy = "hybrid";
    s.users = o.users;
    s.days = o.days;
    s.seed = seed;
    s.data_dir = o.data_dir;
    s.progress = o.progress;
    s.cancel = o.cancel;
    double base_ctr = 0.0;
    for (size_t i = 0; i <= o.tolerances.size(); ++i) {
      const bool constrained = i > 0;
      if (constrained) {
        s.fairness_constraint = "provider";
        s.fairness_tolerance = o.tolerances[i - 1];
        s.fairness_targets = o.targets;
      }
      ASSIGN_OR_RETURN(const SimulateResult r, RunSimulation(s));
      FairnessRun run;
      run.seed = seed;
      run.tolerance = constrained ? o.tolerances[i - 1] : -1.0;
      run.requests = r.requests;
      run.ctr = r.ctr;
      run.exposure_disparity = r.exposure_disparity;
      run.exposure_share = r.exposure_share;
      run.seconds = r.seconds;
      if (!constrained) {
        base_ctr = r.ctr;
        t.target_share = r.target_share;  // the catalog shares
        if (!o.targets.empty()) {
          // Explicit targets: the unconstrained run is judged against the same targets.
          t.target_share = o.targets;
          run.exposure_disparity = fairness::ExposureDisparity(r.exposure_share, o.targets);
        }
      } else {
        run.ctr_cost = base_ctr > 0 ? 1.0 - r.ctr / base_ctr : 0.0;
        run.lists_adjusted = r.constraint ? r.constraint->lists_adjusted : 0;
      }
      t.runs.push_back(run);
    }
  }
  const size_t settings = o.tolerances.size() + 1;
  for (size_t i = 0; i < settings; ++i) {
    FairnessTradeoff::Mean m;
    m.tolerance = i == 0 ? -1.0 : o.tolerances[i - 1];
    for (size_t s = 0; s < o.seeds.size(); ++s) {
      const FairnessRun& run = t.runs[s * settings + i];
      m.ctr += run.ctr;
      m.exposure_disparity += run.exposure_disparity;
      m.ctr_cost += run.ctr_cost;
      m.max_disparity = std::max(m.max_disparity, run.exposure_disparity);
      m.max_ctr_cost = std::max(m.max_ctr_cost, run.ctr_cost);
    }
    const auto n = static_cast<double>(o.seeds.size());
    m.ctr /= n;
    m.exposure_disparity /= n;
    m.ctr_cost /= n;
    t.means.push_back(m);
  }
  if (!o.chart_path.empty()) {
    charts::LineChart chart;
    chart.title = "Hybrid with a provider exposure constraint: CTR cost vs exposure disparity";
    chart.x_label = "provider-group exposure disparity (tolerance varies)";
    chart.y_label = "CTR cost vs unconstrained (%)";
    for (size_t s = 0; s < o.seeds.size(); ++s) {
      charts::Series series;
      series.name = "seed " + std::to_string(o.seeds[s]);
      for (size_t i = 0; i < settings; ++i) {
        const FairnessRun& run = t.runs[s * settings + i];
        series.x.push_back(run.exposure_disparity);
        series.y.push_back(100.0 * run.ctr_cost);
      }
      chart.series.push_back(series);
    }
    charts::Series mean;
    mean.name = "mean of seeds";
    for (const auto& m : t.means) {
      mean.x.push_back(m.exposure_disparity);
      mean.y.push_back(100.0 * m.ctr_cost);
    }
    chart.series.push_back(mean);
    // Sort each series by disparity so the line reads left to right.
    for (auto& series : chart.series) {
      std::vector<size_t> order(series.x.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return series.x[a] < series.x[b]; });
      charts::Series sorted{series.name, {}, {}};
      for (size_t i : order) {
        sorted.x.push_back(series.x[i]);
        sorted.y.push_back(series.y[i]);
      }
      series = sorted;
    }
    RETURN_IF_ERROR(charts::WritePng(chart, o.chart_path, {900, 450}));
  }
  return t;
}

std::string FairnessTradeoffJson(const FairnessTradeoff& t) {
  static const char* kGroups[] = {"head", "mid", "tail"};
  auto by_group = [](const std::vector<double>& v) {
    nlohmann::json j = nlohmann::json::object();
    for (size_t g = 0; g < v.size() && g < 3; ++g) j[kGroups[g]] = v[g];
    return j;
  };
  nlohmann::json runs = nlohmann::json::array(), means = nlohmann::json::array();
  for (const FairnessRun& r : t.runs) {
    runs.push_back({{"seed", r.seed},
                    {"tolerance", r.tolerance < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.tolerance)},
                    {"requests", r.requests},
                    {"ctr", r.ctr},
                    {"ctr_cost", r.ctr_cost},
                    {"exposure_disparity", r.exposure_disparity},
                    {"exposure_share", by_group(r.exposure_share)},
                    {"lists_adjusted", r.lists_adjusted},
                    {"seconds", r.seconds}});
  }
  for (const auto& m : t.means) {
    means.push_back({{"tolerance", m.tolerance < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.tolerance)},
                     {"ctr", m.ctr},
                     {"ctr_cost", m.ctr_cost},
                     {"max_ctr_cost", m.max_ctr_cost},
                     {"exposure_disparity", m.exposure_disparity},
                     {"max_exposure_disparity", m.max_disparity}});
  }
  return DumpJson(nlohmann::json{{"target_share", by_group(t.target_share)}, {"runs", runs}, {"means", means}});
}

std::string FairnessTradeoffMarkdown(const FairnessTradeoff& t) {
  std::string out =
      "| constraint | CTR (mean) | CTR cost (mean) | CTR cost (worst seed) | exposure disparity (mean) | disparity "
      "(worst seed) |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& m : t.means) {
    out += "| " + (m.tolerance < 0 ? std::string("off") : "tolerance " + Fixed(m.tolerance, 2)) + " | " +
           Fixed(m.ctr, 4) + " | " + (m.tolerance < 0 ? std::string("-") : Fixed(100.0 * m.ctr_cost, 1) + "%") + " | " +
           (m.tolerance < 0 ? std::string("-") : Fixed(100.0 * m.max_ctr_cost, 1) + "%") + " | " +
           Fixed(100.0 * m.exposure_disparity, 1) + "% | " + Fixed(100.0 * m.max_disparity, 1) + "% |\n";
  }
  out += "\nTargets head / mid / tail: ";
  for (size_t g = 0; g < t.target_share.size(); ++g) out += (g ? " / " : "") + Fixed(t.target_share[g], 4);
  out += ". Per run:\n\n"
         "| seed | constraint | requests | CTR | CTR cost | disparity | exposure share head / mid / tail | lists adjusted |\n"
         "|---|---|---|---|---|---|---|---|\n";
  for (const FairnessRun& r : t.runs) {
    std::string shares;
    for (size_t g = 0; g < r.exposure_share.size(); ++g) shares += (g ? " / " : "") + Fixed(r.exposure_share[g], 3);
    out += "| " + std::to_string(r.seed) + " | " + (r.tolerance < 0 ? std::string("off") : Fixed(r.tolerance, 2)) + " | " +
           std::to_string(r.requests) + " | " + Fixed(r.ctr, 4) + " | " +
           (r.tolerance < 0 ? std::string("-") : Fixed(100.0 * r.ctr_cost, 1) + "%") + " | " +
           Fixed(100.0 * r.exposure_disparity, 1) + "% | " + shares + " | " + std::to_string(r.lists_adjusted) + " |\n";
  }
  return out;
}

}  // namespace steward::app
