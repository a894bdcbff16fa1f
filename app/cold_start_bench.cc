#include "app/cold_start_bench.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/simulate.h"
#include "common/json.h"

namespace steward::app {
namespace {

const char* kPolicies[] = {"baseline", "hybrid"};

nlohmann::json SummaryJson(const SeedSummary& s) {
  return {{"mean", s.mean}, {"low", s.low}, {"high", s.high}, {"per_seed", s.values}};
}

}  // namespace

StatusOr<ColdStartResult> RunColdStart(const ColdStartOptions& o) {
  if (o.seeds.empty()) return InvalidArgument("seeds must name at least one seed");
  ColdStartResult result;
  result.options = o;
  for (uint64_t seed : o.seeds) {
    for (const char* policy : kPolicies) {
      SimulateOptions s;
      s.policy = policy;
      s.users = o.users;
      s.days = o.days;
      s.requests_per_user_day = o.rate;
      s.catalog_items = o.catalog_items;
      s.new_item_share = o.new_item_share;
      s.quality_horizon = o.quality_horizon;
      s.seed = seed;
      s.data_dir = o.data_dir;
      s.progress = o.progress;
      s.cancel = o.cancel;
      ASSIGN_OR_RETURN(const SimulateResult sr, RunSimulation(s));
      ColdStartRun run;
      run.seed = seed;
      run.policy = policy;
      run.requests = sr.requests;
      run.ctr = sr.ctr;
      run.interactions_to_quality = sr.new_user_interactions_to_quality;
      run.days_to_signal = sr.new_item_days_to_signal;
      run.new_items = sr.new_items;
      run.new_items_with_signal = sr.new_items_with_signal;
      run.new_item_impressions = sr.new_item_impressions;
      run.established_quality = sr.established_quality;
      run.new_user_quality_curve = sr.new_user_quality_curve;
      run.seconds = sr.seconds;
      result.runs.push_back(std::move(run));
    }
  }
  for (size_t p = 0; p < 2; ++p) {
    ColdStartResult::Policy m;
    m.name = kPolicies[p];
    std::vector<double> itq, dts, share, imp, eq, ctr;
    for (size_t s = 0; s < o.seeds.size(); ++s) {
      const ColdStartRun& run = result.runs[s * 2 + p];
      itq.push_back(run.interactions_to_quality);
      dts.push_back(run.days_to_signal);
      share.push_back(run.new_items ? static_cast<double>(run.new_items_with_signal) / static_cast<double>(run.new_items) : 0.0);
      imp.push_back(run.new_item_impressions);
      eq.push_back(run.established_quality);
      ctr.push_back(run.ctr);
    }
    m.interactions_to_quality = SummarizeSeeds(itq);
    m.days_to_signal = SummarizeSeeds(dts);
    m.signal_share = SummarizeSeeds(share);
    m.impressions = SummarizeSeeds(imp);
    m.established_quality = SummarizeSeeds(eq);
    m.ctr = SummarizeSeeds(ctr);
    result.policies.push_back(std::move(m));
  }
  return result;
}

std::string ColdStartJson(const ColdStartResult& r) {
  nlohmann::json runs = nlohmann::json::array(), policies = nlohmann::json::array();
  for (const ColdStartRun& run : r.runs) {
    runs.push_back({{"seed", run.seed},
                    {"policy", run.policy},
                    {"requests", run.requests},
                    {"ctr", run.ctr},
                    {"new_user_interactions_to_quality", run.interactions_to_quality},
                    {"new_item_days_to_signal", run.days_to_signal},
                    {"new_items", run.new_items},
                    {"new_items_with_signal", run.new_items_with_signal},
                    {"new_item_impressions", run.new_item_impressions},
                    {"established_quality", run.established_quality},
                    {"new_user_quality_curve", run.new_user_quality_curve},
                    {"seconds", run.seconds}});
  }
  for (const auto& m : r.policies) {
    policies.push_back({{"policy", m.name},
                        {"new_user_interactions_to_quality", SummaryJson(m.interactions_to_quality)},
                        {"new_item_days_to_signal", SummaryJson(m.days_to_signal)},
                        {"new_item_signal_share", SummaryJson(m.signal_share)},
                        {"new_item_impressions", SummaryJson(m.impressions)},
                        {"established_quality", SummaryJson(m.established_quality)},
                        {"ctr", SummaryJson(m.ctr)}});
  }
  const ColdStartOptions& o = r.options;
  return DumpJson(nlohmann::json{{"seeds", o.seeds},
                                 {"users", o.users},
                                 {"days", o.days},
                                 {"rate", o.rate},
                                 {"catalog_items", o.catalog_items},
                                 {"new_item_share", o.new_item_share},
                                 {"quality_horizon", o.quality_horizon},
                                 {"command", o.command_line},
                                 {"policies", policies},
                                 {"runs", runs}});
}

std::string ColdStartMarkdown(const ColdStartResult& r) {
  const ColdStartOptions& o = r.options;
  std::string seeds;
  for (size_t i = 0; i < o.seeds.size(); ++i) seeds += (i ? ", " : "") + std::to_string(o.seeds[i]);
  double seconds = 0.0;
  for (const ColdStartRun& run : r.runs) seconds += run.seconds;
  const int catalog = o.catalog_items > 0 ? o.catalog_items : 10000;
  const int new_items = static_cast<int>(o.new_item_share * catalog);
  std::string out;
  out += "Generated by `steward bench cold-start`: " + std::to_string(o.users) + " initial users (+" +
         std::to_string(std::max(1, o.users / 50)) + " new a day), " + std::to_string(o.days) + " days, " + FormatFixed(o.rate, 1) +
         " requests per user per day, a catalog of " + std::to_string(catalog) + " books (1 in " +
         FormatFixed(10000.0 / catalog, 1) + " of the 10,000) of which " + std::to_string(new_items) +
         " are released during the run, new users measured over their first " + std::to_string(o.quality_horizon) +
         " requests; seeds " + seeds + "; " + std::to_string(r.runs.size()) + " runs, " + FormatFixed(seconds / 60.0, 1) +
         " minutes of simulation. Cells: mean over seeds [Student-t 95% interval]; per seed in the second table.\n\n";
  const auto& b = r.policies[0];
  const auto& h = r.policies[1];
  out += "| figure | paper: baseline → hybrid | ours: baseline | ours: hybrid |\n|---|---|---|---|\n";
  out += "| new-user interactions to established users' quality (censored at " + std::to_string(o.quality_horizon + 1) + ") | 28 → 9 | " +
         FormatSummary(b.interactions_to_quality, 1) + " | " + FormatSummary(h.interactions_to_quality, 1) + " |\n";
  out += "| new-item days to a significant signal (3 clicks; censored at the end of the run) | 4.8 → 1.7 | " + FormatSummary(b.days_to_signal, 2) +
         " | " + FormatSummary(h.days_to_signal, 2) + " |\n";
  out += "| share of new items reaching the signal | - | " + FormatSummary(b.signal_share, 3) + " | " + FormatSummary(h.signal_share, 3) + " |\n";
  out += "| impressions per new item | - | " + FormatSummary(b.impressions, 1) + " | " + FormatSummary(h.impressions, 1) + " |\n";
  out += "| established users' list quality (share of the oracle) | - | " + FormatSummary(b.established_quality, 3) + " | " +
         FormatSummary(h.established_quality, 3) + " |\n";
  out += "| CTR (clicks per list) | - | " + FormatSummary(b.ctr, 4) + " | " + FormatSummary(h.ctr, 4) + " |\n";
  out += "\nPer seed (" + seeds + "), baseline | hybrid:\n\n| figure | baseline | hybrid |\n|---|---|---|\n";
  out += "| interactions to quality | " + FormatPerSeed(b.interactions_to_quality, 0) + " | " + FormatPerSeed(h.interactions_to_quality, 0) + " |\n";
  out += "| days to signal | " + FormatPerSeed(b.days_to_signal, 2) + " | " + FormatPerSeed(h.days_to_signal, 2) + " |\n";
  out += "| new items with signal |";
  for (size_t p = 0; p < 2; ++p) {
    out += " ";
    for (size_t s = 0; s < o.seeds.size(); ++s) {
      const ColdStartRun& run = r.runs[s * 2 + p];
      out += (s ? " / " : "") + std::to_string(run.new_items_with_signal) + " of " + std::to_string(run.new_items);
    }
    out += " |";
  }
  out += "\n| CTR | " + FormatPerSeed(b.ctr, 4) + " | " + FormatPerSeed(h.ctr, 4) + " |\n";
  out += "\nCommand:\n\n```\n" + o.command_line + "\n```\n";
  return out;
}

}  // namespace steward::app
