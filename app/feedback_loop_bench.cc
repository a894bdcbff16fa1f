#include "app/feedback_loop_bench.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/simulate.h"
#include "charts/charts.h"
#include "common/json.h"
#include "fairness/bootstrap.h"

namespace steward::app {
namespace {

nlohmann::json SummaryJson(const SeedSummary& s) {
  return {{"mean", s.mean}, {"low", s.low}, {"high", s.high}, {"per_seed", s.values}};
}

// Per-seed values of `f` for the variant at `v`, seeds in order.
template <typename F>
std::vector<double> PerSeed(const FeedbackLoopResult& r, size_t v, F f) {
  std::vector<double> out;
  const size_t variants = r.options.variants.size();
  for (size_t s = 0; s < r.options.seeds.size(); ++s) out.push_back(f(r.runs[s * variants + v]));
  return out;
}

}  // namespace

const std::vector<std::string>& FeedbackVariantNames() {
  static const std::vector<std::string> names = {"popularity",           "baseline",          "hybrid",
                                                 "hybrid-none",          "hybrid-no-exploration", "hybrid-no-session-cap",
                                                 "hybrid-no-diversity",  "hybrid-ips",        "hybrid-balanced"};
  return names;
}

StatusOr<std::vector<FeedbackVariant>> ParseFeedbackVariants(const std::vector<std::string>& names) {
  std::vector<FeedbackVariant> out;
  for (const std::string& n : names) {
    FeedbackVariant v;
    v.name = n;
    if (n == "popularity" || n == "baseline") {
      v.policy = n;
    } else if (n == "hybrid") {
      v.policy = "hybrid";
    } else if (n == "hybrid-none" || n == "hybrid-no-exploration" || n == "hybrid-no-session-cap" || n == "hybrid-no-diversity") {
      v.policy = "hybrid";
      v.dampening = n.substr(7);
    } else if (n == "hybrid-ips" || n == "hybrid-balanced") {
      v.policy = "hybrid";
      v.retrain = n.substr(7);
    } else {
      return InvalidArgument("variant '" + n +
                             "' is unknown; use popularity, baseline, hybrid, hybrid-none, hybrid-no-exploration, "
                             "hybrid-no-session-cap, hybrid-no-diversity, hybrid-ips or hybrid-balanced");
    }
    out.push_back(v);
  }
  if (out.empty()) return InvalidArgument("variants must name at least one variant");
  return out;
}

StatusOr<FeedbackLoopResult> RunFeedbackLoop(const FeedbackLoopOptions& o) {
  if (o.seeds.empty()) return InvalidArgument("seeds must name at least one seed");
  ASSIGN_OR_RETURN(const std::vector<FeedbackVariant> variants, ParseFeedbackVariants(o.variants));
  FeedbackLoopResult result;
  result.options = o;
  for (uint64_t seed : o.seeds) {
    for (const FeedbackVariant& v : variants) {
      SimulateOptions s;
      s.policy = v.policy;
      s.dampening = v.dampening;
      s.retrain = v.retrain;
      s.users = o.users;
      s.days = o.days;
      s.window_days = o.window_days;
      s.seed = seed;
      s.data_dir = o.data_dir;
      s.progress = o.progress;
      s.cancel = o.cancel;
      ASSIGN_OR_RETURN(const SimulateResult sr, RunSimulation(s));
      FeedbackRun run;
      run.seed = seed;
      run.variant = v.name;
      run.requests = sr.requests;
      run.ctr = sr.ctr;
      run.coverage = sr.coverage;
      run.diversity_index = sr.diversity_index;
      run.homogenization = sr.homogenization_series;
      run.exposure_gini = sr.exposure_gini_series;
      std::vector<double> x;
      for (size_t w = 0; w < run.homogenization.size(); ++w) x.push_back(static_cast<double>((w + 1) * static_cast<size_t>(o.window_days)));
      run.homogenization_slope = fairness::OlsSlope(x, run.homogenization);
      run.seconds = sr.seconds;
      result.runs.push_back(std::move(run));
    }
  }
  for (size_t v = 0; v < variants.size(); ++v) {
    FeedbackLoopResult::Variant m;
    m.name = variants[v].name;
    const auto first = [](const std::vector<double>& s) { return s.empty() ? 0.0 : s.front(); };
    const auto last = [](const std::vector<double>& s) { return s.empty() ? 0.0 : s.back(); };
    m.homogenization_first = SummarizeSeeds(PerSeed(result, v, [&](const FeedbackRun& r) { return first(r.homogenization); }));
    m.homogenization_last = SummarizeSeeds(PerSeed(result, v, [&](const FeedbackRun& r) { return last(r.homogenization); }));
    m.homogenization_slope = SummarizeSeeds(PerSeed(result, v, [](const FeedbackRun& r) { return r.homogenization_slope; }));
    m.gini_first = SummarizeSeeds(PerSeed(result, v, [&](const FeedbackRun& r) { return first(r.exposure_gini); }));
    m.gini_last = SummarizeSeeds(PerSeed(result, v, [&](const FeedbackRun& r) { return last(r.exposure_gini); }));
    m.ctr = SummarizeSeeds(PerSeed(result, v, [](const FeedbackRun& r) { return r.ctr; }));
    m.coverage = SummarizeSeeds(PerSeed(result, v, [](const FeedbackRun& r) { return r.coverage; }));
    const size_t windows = result.runs.empty() ? 0 : result.runs[v].homogenization.size();
    for (size_t w = 0; w < windows; ++w) {
      m.homogenization_series.push_back(SummarizeSeeds(
          PerSeed(result, v, [w](const FeedbackRun& r) { return w < r.homogenization.size() ? r.homogenization[w] : 0.0; })));
    }
    result.variants.push_back(std::move(m));
  }
  if (!o.chart_path.empty()) {
    // Two charts, so each has few enough lines for distinct colours: the dampening ablation (every
    // variant with plain retraining) at `chart_path`, and the retraining modes (the full hybrid with
    // plain, IPS and balanced retraining) at the same path with "-retrain" before ".png".
    const auto write = [&](const std::string& title, bool retrain_chart, const std::string& path) -> Status {
      charts::LineChart chart;
      chart.title = title;
      chart.x_label = "simulated day (end of window)";
      chart.y_label = "mean Jaccard of cumulative clicked sets";
      for (size_t v = 0; v < variants.size(); ++v) {
        const bool retrain_variant = variants[v].retrain != "plain";
        const bool full_hybrid = variants[v].policy == "hybrid" && variants[v].dampening == "full" && !retrain_variant;
        if (retrain_chart ? !(retrain_variant || full_hybrid) : retrain_variant) continue;
        const auto& m = result.variants[v];
        charts::Series series;
        series.name = m.name;
        for (size_t w = 0; w < m.homogenization_series.size(); ++w) {
          series.x.push_back(static_cast<double>((w + 1) * static_cast<size_t>(o.window_days)));
          series.y.push_back(m.homogenization_series[w].mean);
        }
        chart.series.push_back(std::move(series));
      }
      if (chart.series.empty()) return Status::Ok();
      return charts::WritePng(chart, path, {1100, 500});
    };
    RETURN_IF_ERROR(write("Homogenization over time, dampening ablation (mean over seeds)", false, o.chart_path));
    std::string retrain_path = o.chart_path;
    const size_t dot = retrain_path.rfind(".png");
    retrain_path = dot == std::string::npos ? retrain_path + "-retrain" : retrain_path.insert(dot, "-retrain");
    bool any_retrain = false;
    for (const auto& v : variants) any_retrain = any_retrain || v.retrain != "plain";
    if (any_retrain) RETURN_IF_ERROR(write("Homogenization over time, retraining modes (mean over seeds)", true, retrain_path));
  }
  return result;
}

std::string FeedbackLoopJson(const FeedbackLoopResult& r) {
  nlohmann::json runs = nlohmann::json::array(), variants = nlohmann::json::array();
  for (const FeedbackRun& run : r.runs) {
    runs.push_back({{"seed", run.seed},
                    {"variant", run.variant},
                    {"requests", run.requests},
                    {"ctr", run.ctr},
                    {"coverage", run.coverage},
                    {"diversity_index", run.diversity_index},
                    {"homogenization_series", run.homogenization},
                    {"homogenization_slope", run.homogenization_slope},
                    {"exposure_gini_series", run.exposure_gini},
                    {"seconds", run.seconds}});
  }
  for (const auto& m : r.variants) {
    nlohmann::json series = nlohmann::json::array();
    for (const SeedSummary& s : m.homogenization_series) series.push_back({{"mean", s.mean}, {"low", s.low}, {"high", s.high}});
    variants.push_back({{"variant", m.name},
                        {"homogenization_first", SummaryJson(m.homogenization_first)},
                        {"homogenization_last", SummaryJson(m.homogenization_last)},
                        {"homogenization_slope", SummaryJson(m.homogenization_slope)},
                        {"exposure_gini_first", SummaryJson(m.gini_first)},
                        {"exposure_gini_last", SummaryJson(m.gini_last)},
                        {"ctr", SummaryJson(m.ctr)},
                        {"coverage", SummaryJson(m.coverage)},
                        {"homogenization_series", series}});
  }
  return DumpJson(nlohmann::json{{"seeds", r.options.seeds},
                                 {"users", r.options.users},
                                 {"days", r.options.days},
                                 {"window_days", r.options.window_days},
                                 {"command", r.options.command_line},
                                 {"variants", variants},
                                 {"runs", runs}});
}

std::string FeedbackLoopMarkdown(const FeedbackLoopResult& r) {
  const FeedbackLoopOptions& o = r.options;
  std::string seeds;
  for (size_t i = 0; i < o.seeds.size(); ++i) seeds += (i ? ", " : "") + std::to_string(o.seeds[i]);
  const std::string last_day = std::to_string(o.days);
  double seconds = 0.0;
  for (const FeedbackRun& run : r.runs) seconds += run.seconds;
  std::string out;
  out += "Generated by `steward bench feedback-loop`: " + std::to_string(o.users) + " initial users (+" +
         std::to_string(std::max(1, o.users / 50)) + " new a day), " + std::to_string(o.days) +
         " days, 1 request per user per day, windows of " + std::to_string(o.window_days) + " day(s), seeds " + seeds +
         "; " + std::to_string(r.runs.size()) + " runs, " + FormatFixed(seconds / 60.0, 1) +
         " minutes of simulation. Cells: mean over seeds [Student-t 95% interval].\n\n";
  out += "| variant | paper (5.3) | homogenization, day " + std::to_string(o.window_days) + " | homogenization, day " + last_day +
         " | slope per day | exposure Gini, day " + last_day + " | coverage | CTR |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& m : r.variants) {
    const std::string paper = m.name == "popularity"  ? "the loop: narrows what users consume (no figure)"
                              : m.name == "hybrid"    ? "dampened: stays diverse over extended periods (no figure)"
                                                      : "-";
    out += "| " + m.name + " | " + paper + " | " + FormatSummary(m.homogenization_first, 4) + " | " +
           FormatSummary(m.homogenization_last, 4) + " | " + FormatSummary(m.homogenization_slope, 5) + " | " +
           FormatSummary(m.gini_last, 4) + " | " + FormatSummary(m.coverage, 4) + " | " + FormatSummary(m.ctr, 4) + " |\n";
  }
  // The ablation: each variant against the full hybrid on the same seed (paired differences).
  size_t full = r.variants.size();
  for (size_t v = 0; v < r.variants.size(); ++v) {
    if (r.variants[v].name == "hybrid") full = v;
  }
  if (full < r.variants.size()) {
    out += "\nAgainst the full hybrid on the same seed (variant − hybrid; mean of the per-seed differences [95% interval]):\n\n";
    out += "| variant | Δ homogenization, day " + last_day + " | Δ exposure Gini, day " + last_day + " | Δ coverage | Δ CTR |\n|---|---|---|---|---|\n";
    for (size_t v = 0; v < r.variants.size(); ++v) {
      if (v == full) continue;
      const auto diff = [&](const SeedSummary& a, const SeedSummary& b) {
        std::vector<double> d;
        for (size_t s = 0; s < a.values.size(); ++s) d.push_back(a.values[s] - b.values[s]);
        return SummarizeSeeds(d);
      };
      const auto& m = r.variants[v];
      const auto& h = r.variants[full];
      out += "| " + m.name + " | " + FormatSummary(diff(m.homogenization_last, h.homogenization_last), 4) + " | " +
             FormatSummary(diff(m.gini_last, h.gini_last), 4) + " | " + FormatSummary(diff(m.coverage, h.coverage), 4) + " | " +
             FormatSummary(diff(m.ctr, h.ctr), 4) + " |\n";
    }
  }
  // The series, at five points of the run.
  const size_t windows = r.variants.empty() ? 0 : r.variants.front().homogenization_series.size();
  if (windows > 0) {
    std::vector<size_t> at;
    for (int q = 0; q <= 4; ++q) {
      // The window ending at q/4 of the run (the first window for q = 0); with fewer than 4 windows
      // several quarters fall in the same one (max(1, .) keeps the index from wrapping below 0).
      const size_t w = q == 0 ? 0 : std::max<size_t>(1, (windows * static_cast<size_t>(q)) / 4) - 1;
      if (at.empty() || at.back() != w) at.push_back(w);
    }
    out += "\nHomogenization over time (mean over seeds [95% interval], at the end of the day shown):\n\n| variant |";
    std::string rule = "|---|";
    for (size_t w : at) {
      out += " day " + std::to_string((w + 1) * static_cast<size_t>(o.window_days)) + " |";
      rule += "---|";
    }
    out += "\n" + rule + "\n";
    for (const auto& m : r.variants) {
      out += "| " + m.name + " |";
      for (size_t w : at) out += " " + FormatSummary(m.homogenization_series[w], 4) + " |";
      out += "\n";
    }
  }
  out += "\nPer seed (" + seeds + "):\n\n| variant | homogenization, day " + last_day + " | slope per day | exposure Gini, day " +
         last_day + " | CTR |\n|---|---|---|---|---|\n";
  for (const auto& m : r.variants) {
    out += "| " + m.name + " | " + FormatPerSeed(m.homogenization_last, 4) + " | " + FormatPerSeed(m.homogenization_slope, 5) + " | " +
           FormatPerSeed(m.gini_last, 4) + " | " + FormatPerSeed(m.ctr, 4) + " |\n";
  }
  out += "\nCommand:\n\n```\n" + o.command_line + "\n```\n";
  return out;
}

}  // namespace steward::app
