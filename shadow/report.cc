#include "shadow/report.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "charts/charts.h"
#include "common/file.h"
#include "common/json.h"
#include "common/percentile.h"
#include "common/text.h"
#include "fairness/metrics.h"
#include "shadow/compare.h"
#include "shadow/ope.h"
#include "storage/queries.h"
#include "storage/statement.h"

namespace steward::shadow {
namespace {

struct Side {
  std::vector<std::vector<int64_t>> lists;
  std::vector<double> latency_ms;
  int64_t errors = 0;
};

SideMetrics Summarise(const Side& side, const std::unordered_map<int64_t, storage::CatalogRow>& catalog,
                      const std::unordered_map<int64_t, double>& share, int num_categories) {
  SideMetrics m;
  // Served risk (the catalog snapshot's per-item risk, when a risk scorer screened the run): mean,
  // and max - min over provider groups of the group's mean (docs/metrics.md risk_disparity).
  std::map<int, std::pair<double, int64_t>> risk_by_group;
  double risk_sum = 0;
  int64_t risk_rows = 0;
  for (const auto& list : side.lists) {
    for (int64_t id : list) {
      auto it = catalog.find(id);
      if (it == catalog.end() || it->second.risk < 0) continue;
      risk_sum += it->second.risk;
      ++risk_rows;
      auto& [sum, n] = risk_by_group[it->second.provider_group];
      sum += it->second.risk;
      ++n;
    }
  }
  if (risk_rows > 0) {
    m.risk_mean = risk_sum / static_cast<double>(risk_rows);
    double lo = 1.0, hi = 0.0;
    for (const auto& [g, sn] : risk_by_group) {
      const double mean = sn.first / static_cast<double>(sn.second);
      lo = std::min(lo, mean);
      hi = std::max(hi, mean);
    }
    m.risk_disparity = hi - lo;
  }
  std::vector<double> category_counts(static_cast<size_t>(std::max(num_categories, 1)), 0.0);
  std::unordered_map<int64_t, int> distinct;
  double novelty = 0, ild = 0;
  int64_t items = 0, lists = 0;
  for (const auto& list : side.lists) {
    std::vector<int> cats;
    std::vector<double> shares;
    for (int64_t id : list) {
      auto it = catalog.find(id);
      const int cat = it == catalog.end() ? 0 : it->second.category;
      cats.push_back(cat);
      category_counts[static_cast<size_t>(std::clamp(cat, 0, num_categories - 1))] += 1;
      auto sh = share.find(id);
      shares.push_back(sh == share.end() ? 0.0 : sh->second);
      distinct[id] = 1;
      ++items;
    }
    if (list.empty()) continue;
    novelty += Novelty(shares) * static_cast<double>(list.size());
    ild += IntraListDiversity(cats);
    ++lists;
  }
  m.diversity_index = fairness::CategoricalDiversityIndex(category_counts, num_categories);
  m.novelty = items ? novelty / static_cast<double>(items) : 0.0;
  m.intra_list_diversity = lists ? ild / static_cast<double>(lists) : 0.0;
  m.coverage = catalog.empty() ? 0.0 : static_cast<double>(distinct.size()) / static_cast<double>(catalog.size());
  m.p50_ms = Percentile(side.latency_ms, 0.50);
  m.p95_ms = Percentile(side.latency_ms, 0.95);
  m.p99_ms = Percentile(side.latency_ms, 0.99);
  m.errors = side.errors;
  return m;
}

}  // namespace

StatusOr<ShadowReport> BuildShadowReport(storage::Database& db, const std::string& experiment) {
  ShadowReportOptions options;
  options.experiment = experiment;
  return BuildShadowReport(db, options);
}

StatusOr<ShadowReport> BuildShadowReport(storage::Database& db, const ShadowReportOptions& options) {
  if (options.windows < 1) return InvalidArgument("shadow report: windows must be at least 1");
  ASSIGN_OR_RETURN(auto rows, storage::LoadCatalog(db));
  std::unordered_map<int64_t, storage::CatalogRow> catalog;
  std::unordered_map<int64_t, int32_t> index_of;  // item id -> catalog index (ordered by id)
  int num_categories = 1;
  for (const auto& r : rows) {
    index_of[r.item_id] = static_cast<int32_t>(index_of.size());
    catalog[r.item_id] = r;
    num_categories = std::max(num_categories, r.category + 1);
  }
  // One entry per experiment; a shadow model that retrained while shadowing has several versions,
  // named first -> last.
  ASSIGN_OR_RETURN(auto names, db.Prepare(
      "SELECT s.experiment, "
      "(SELECT model_version FROM shadow_results f WHERE f.experiment = s.experiment ORDER BY request_id LIMIT 1), "
      "(SELECT model_version FROM shadow_results l WHERE l.experiment = s.experiment ORDER BY request_id DESC LIMIT 1), "
      "COUNT(DISTINCT s.model_version) FROM shadow_results s WHERE ?1 = '' OR s.experiment = ?1 "
      "GROUP BY s.experiment ORDER BY s.experiment"));
  names->BindText(1, options.experiment);
  ASSIGN_OR_RETURN(auto pairs, storage::CollectRows(*names, [](const storage::Statement& r) {
    const int64_t versions = r.ColumnInt(3);
    std::string label = r.ColumnText(1);
    if (versions > 1) label += " -> " + r.ColumnText(2) + " (" + std::to_string(versions) + " versions)";
    return std::make_pair(r.ColumnText(0), label);
  }));
  // Items the policy filter blocks on this request; ids outside the catalog snapshot cannot be
  // screened and are not counted.
  const models::CandidateFilter* policy = nullptr;  // the current experiment's
  const auto blocked = [&](const std::vector<int64_t>& list, int64_t user_id, int64_t ts_ms) {
    if (!policy) return int64_t{0};
    models::RecommendRequest request;
    request.user_id = user_id;
    request.ts_ms = ts_ms;
    int64_t n = 0;
    for (int64_t id : list) {
      auto it = index_of.find(id);
      if (it != index_of.end() && !policy->Allow(request, it->second)) ++n;
    }
    return n;
  };
  // The slate estimator's attraction prior: popularity deciles of the catalog snapshot.
  SlateOpeOptions slate_options = options.slate;
  if (slate_options.item_group.empty() && !rows.empty()) {
    std::vector<std::pair<double, int64_t>> by_popularity;
    for (const auto& r : rows) by_popularity.emplace_back(r.popularity, r.item_id);
    std::sort(by_popularity.begin(), by_popularity.end());
    for (size_t i = 0; i < by_popularity.size(); ++i) {
      slate_options.item_group[by_popularity[i].second] = static_cast<int>(10 * i / by_popularity.size());
    }
  }
  const int64_t to_ms = options.to_ms > 0 ? options.to_ms : std::numeric_limits<int64_t>::max();
  ShadowReport report;
  for (const auto& [name, model] : pairs) {
    ExperimentShadowReport e;
    e.name = name;
    e.shadow_model = model;
    policy = options.policy;
    e.policy_source = options.policy_source;
    if (auto it = options.policies.find(name); it != options.policies.end()) {
      policy = it->second;
      auto src = options.policy_sources.find(name);
      e.policy_source = src == options.policy_sources.end() ? "" : src->second;
    }
    e.policy = policy ? policy->name() : "";
    if (!policy) e.policy_source.clear();
    ASSIGN_OR_RETURN(auto range, db.Prepare("SELECT MIN(ts_ms), MAX(ts_ms) FROM exposures WHERE experiment = ?1 AND ts_ms < ?2 "
                                            "AND ts_ms >= ?3 AND (?4 = '' OR arm = ?4)"));
    range->BindText(1, name);
    range->BindInt(2, to_ms);
    range->BindInt(3, options.from_ms);
    range->BindText(4, options.arm);
    ASSIGN_OR_RETURN(bool has_range, range->Step());
    const int64_t t0 = has_range ? range->ColumnInt(0) : 0, t1 = has_range ? range->ColumnInt(1) : 0;
    const int64_t width = std::max<int64_t>(1, (t1 - t0) / options.windows + 1);
    std::vector<ShadowWindow> windows(static_cast<size_t>(options.windows));
    std::vector<std::vector<double>> window_served_ms(windows.size()), window_shadow_ms(windows.size());
    for (size_t w = 0; w < windows.size(); ++w) {
      windows[w].start_ms = t0 + static_cast<int64_t>(w) * width;
      windows[w].end_ms = windows[w].start_ms + width;
    }
    // Clicks by (request, position), for the counterfactual estimate.
    std::unordered_set<int64_t> clicked;
    ASSIGN_OR_RETURN(auto clicks, db.Prepare(
        "SELECT f.request_id, f.position FROM feedback f JOIN exposures x ON x.request_id = f.request_id "
        "WHERE x.experiment = ? AND f.kind = 1"));
    clicks->BindText(1, name);
    while (true) {
      ASSIGN_OR_RETURN(bool row, clicks->Step());
      if (!row) break;
      clicked.insert(clicks->ColumnInt(0) * 1024 + clicks->ColumnInt(1));
    }
    OpeData slots;
    ShadowCounterfactual& cf = e.counterfactual;
    int64_t cf_requests = 0, cf_positions = 0, cf_clicks = 0;
    ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT x.served, x.latency_us, s.items, s.latency_us, s.error, s.timed_out, x.ts_ms, x.user_id, x.request_id, "
        "x.ts_ms >= ?3 AND (?4 = '' OR x.arm = ?4) FROM exposures x "
        "LEFT JOIN shadow_results s ON s.request_id = x.request_id WHERE x.experiment = ?1 AND x.ts_ms < ?2 "
        "ORDER BY x.ts_ms, x.request_id"));
    st->BindText(1, name);
    st->BindInt(2, to_ms);
    st->BindInt(3, options.from_ms);
    st->BindText(4, options.arm);
    std::vector<LoggedSlate> slates;  // the slate estimator's input: every compared request
    std::unordered_map<int64_t, std::vector<double>> category_clicks;  // user -> clicks per category, then the total
    Side served, shadow;
    double overlap = 0, rbo = 0, tau = 0;
    std::unordered_map<int64_t, double> exposure_count;
    double total = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      // Rows before from_ms or of other arms only feed the users' click history (the slate
      // estimator's context); everything else counts rows in scope.
      const bool in_scope = st->ColumnInt(9) != 0;
      const int64_t ts = st->ColumnInt(6), user = st->ColumnInt(7);
      std::vector<int64_t> s_items;
      std::vector<double> s_propensity;
      for (const auto& pair : nlohmann::json::parse(st->ColumnText(0))) {
        s_items.push_back(pair[0].get<int64_t>());
        s_propensity.push_back(pair[1].get<double>());
      }
      const int64_t request_id = st->ColumnInt(8);
      // The slate estimator's context of an item for this user: the user's affinity to the item's
      // category from the clicks logged before this request (0: no clicks yet; 1: none in the
      // category; 2, 3, 4: share under 1/4, under 1/2, at least 1/2).
      std::vector<uint8_t> s_clicks(s_items.size(), 0);
      for (size_t k = 0; k < s_items.size(); ++k) s_clicks[k] = clicked.count(request_id * 1024 + static_cast<int64_t>(k) + 1) > 0 ? 1 : 0;
      auto& history = category_clicks[user];
      const auto context_of = [&](int64_t id) -> uint8_t {
        if (history.empty()) return 0;
        auto it = catalog.find(id);
        const size_t cat = it == catalog.end() ? 0 : static_cast<size_t>(std::clamp(it->second.category, 0, num_categories - 1));
        const double share = history[cat] / history.back();
        return share <= 0 ? 1 : share < 0.25 ? 2 : share < 0.5 ? 3 : 4;
      };
      std::vector<uint8_t> s_context;
      for (int64_t id : s_items) s_context.push_back(context_of(id));
      const auto record_clicks = [&] {
        for (size_t k = 0; k < s_items.size(); ++k) {
          if (!s_clicks[k]) continue;
          if (history.empty()) history.assign(static_cast<size_t>(num_categories) + 1, 0.0);  // per category, then the total
          auto it = catalog.find(s_items[k]);
          history[it == catalog.end() ? 0 : static_cast<size_t>(std::clamp(it->second.category, 0, num_categories - 1))] += 1;
          history.back() += 1;
        }
      };
      if (!in_scope) {
        record_clicks();
        continue;
      }
      ++e.requests;
      const size_t w = static_cast<size_t>(std::clamp<int64_t>((ts - t0) / width, 0, options.windows - 1));
      ShadowWindow& window = windows[w];
      ++window.requests;
      for (int64_t id : s_items) {
        exposure_count[id] += 1;
        total += 1;
      }
      e.served.violations += blocked(s_items, user, ts);
      served.latency_ms.push_back(static_cast<double>(st->ColumnInt(1)) / 1000.0);
      window_served_ms[w].push_back(served.latency_ms.back());
      if (st->ColumnIsNull(2)) {
        record_clicks();
        ++e.dropped;
        served.lists.push_back(std::move(s_items));
        continue;
      }
      std::vector<int64_t> h_items = nlohmann::json::parse(st->ColumnText(2)).get<std::vector<int64_t>>();
      const int64_t shadow_blocked = blocked(h_items, user, ts);
      e.violations += shadow_blocked;
      window.violations += shadow_blocked;
      shadow.latency_ms.push_back(static_cast<double>(st->ColumnInt(3)) / 1000.0);
      window_shadow_ms[w].push_back(shadow.latency_ms.back());
      shadow.errors += st->ColumnInt(4) + st->ColumnInt(5);
      ++e.compared;
      ++window.compared;
      const double o = JaccardAtK(s_items, h_items, 10), r = RankBiasedOverlap(s_items, h_items, 0.9);
      overlap += o;
      rbo += r;
      window.overlap_at_10 += o;
      window.rbo += r;
      tau += KendallTauOnIntersection(s_items, h_items);
      if (!s_items.empty() && !st->ColumnInt(4) && !st->ColumnInt(5)) {
        LoggedSlate slate;
        slate.items = s_items;
        slate.propensity = s_propensity;
        slate.target = h_items;
        slate.clicks = s_clicks;
        slate.item_context = s_context;
        for (int64_t id : h_items) slate.target_context.push_back(context_of(id));
        const bool valid = std::all_of(s_propensity.begin(), s_propensity.end(), [](double p) { return p > 0 && p <= 1; });
        if (valid) {
          slates.push_back(std::move(slate));
        } else {
          ++e.slate.left_out;
        }
        bool explored = false;
        for (size_t k = 0; k < s_items.size(); ++k) {
          const bool click = clicked.count(request_id * 1024 + static_cast<int64_t>(k) + 1) > 0;
          if (!(s_propensity[k] < 1.0) || !(s_propensity[k] > 0.0)) {
            ++cf.deterministic_rows;
            continue;
          }
          explored = true;
          const bool match = k < h_items.size() && h_items[k] == s_items[k];
          cf.matched += match ? 1 : 0;
          cf_clicks += click ? 1 : 0;
          slots.reward.push_back(click ? 1.0 : 0.0);
          slots.weight.push_back(match ? 1.0 / s_propensity[k] : 0.0);
          slots.q_logged.push_back(0.0);
          slots.v_dm.push_back(0.0);
          ++cf_positions;
        }
        cf_requests += explored ? 1 : 0;
      }
      record_clicks();
      served.lists.push_back(std::move(s_items));
      shadow.lists.push_back(std::move(h_items));
    }
    if (e.compared) {
      e.overlap_at_10 = overlap / static_cast<double>(e.compared);
      e.rbo = rbo / static_cast<double>(e.compared);
      e.kendall_tau = tau / static_cast<double>(e.compared);
    }
    cf.rows = static_cast<int64_t>(slots.size());
    if (cf.rows > 0) {
      cf.list_length = static_cast<double>(cf_positions) / static_cast<double>(std::max<int64_t>(cf_requests, 1));
      cf.logged_clicks_per_list = static_cast<double>(cf_clicks) / static_cast<double>(std::max<int64_t>(cf_requests, 1));
      ASSIGN_OR_RETURN(auto est, Evaluate(slots, {"ips", "snips"}, OpeOptions()));
      const double L = cf.list_length;
      cf.ips = est["ips"].value * L, cf.ips_low = est["ips"].ci_low * L, cf.ips_high = est["ips"].ci_high * L;
      cf.snips = est["snips"].value * L, cf.snips_low = est["snips"].ci_low * L, cf.snips_high = est["snips"].ci_high * L;
      const OpeDiagnostics g = Diagnose(slots);
      cf.ess = g.ess;
      cf.max_weight = g.max_weight;
      cf.unreliable = g.unreliable;
      cf.warning = g.warning;
      if (!est["ips"].ci_undefined.empty()) {  // no interval (JSON null): say why, never a [0, 0] that looks certain
        cf.unreliable = true;
        cf.warning += (cf.warning.empty() ? "" : "; ") + std::string("no interval: ") + est["ips"].ci_undefined;
      }
    }
    if (slates.size() < 2) {
      e.slate.note = "fewer than 2 compared requests";
    } else {
      auto fitted = FitPositionBasedModel(slates, slate_options);
      auto estimate = fitted.ok() ? EstimateSlateValue(slates, *fitted, slate_options) : StatusOr<SlateEstimate>(fitted.status());
      if (estimate.ok()) {
        e.slate.estimated = true;
        e.slate.estimate = std::move(*estimate);
      } else {
        e.slate.note = estimate.status().message();
      }
    }
    for (size_t w = 0; w < windows.size(); ++w) {
      ShadowWindow& window = windows[w];
      if (window.requests == 0) continue;  // windows without traffic are left out
      if (window.compared) {
        window.overlap_at_10 /= static_cast<double>(window.compared);
        window.rbo /= static_cast<double>(window.compared);
      }
      window.served_p99_ms = Percentile(window_served_ms[w], 0.99);
      window.shadow_p99_ms = Percentile(window_shadow_ms[w], 0.99);
      e.windows.push_back(window);
    }
    // Novelty uses the served exposure distribution as the popularity reference for both sides
    // (items never served get half an exposure, so their self-information stays finite).
    std::unordered_map<int64_t, double> share;
    for (const auto& [id, c] : exposure_count) share[id] = c / std::max(total, 1.0);
    for (const auto& list : shadow.lists) {
      for (int64_t id : list) {
        if (!share.count(id)) share[id] = 0.5 / std::max(total, 1.0);
      }
    }
    const int64_t served_violations = e.served.violations;
    e.served = Summarise(served, catalog, share, num_categories);
    e.served.violations = served_violations;
    e.shadow = Summarise(shadow, catalog, share, num_categories);
    e.shadow.violations = e.violations;
    report.experiments.push_back(std::move(e));
  }
  return report;
}

namespace {
nlohmann::json SideJson(const SideMetrics& m) {
  return {{"diversity_index", m.diversity_index}, {"novelty", m.novelty}, {"coverage", m.coverage},
          {"intra_list_diversity", m.intra_list_diversity}, {"p50_ms", m.p50_ms}, {"p95_ms", m.p95_ms},
          {"p99_ms", m.p99_ms}, {"errors", m.errors}, {"violations", m.violations},
          {"risk_mean", m.risk_mean >= 0 ? nlohmann::json(m.risk_mean) : nlohmann::json(nullptr)},
          {"risk_disparity", m.risk_disparity >= 0 ? nlohmann::json(m.risk_disparity) : nlohmann::json(nullptr)}};
}

nlohmann::json EstimateJson(const Estimate& e) {
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j = {{"value", num(e.value)}, {"ci_low", num(e.ci_low)}, {"ci_high", num(e.ci_high)}};
  if (!e.ci_undefined.empty()) j["ci_undefined"] = e.ci_undefined;
  return j;
}

// The primary estimate (slate) first, then the per-position IPS diagnostics under their old keys.
nlohmann::json CounterfactualJson(const ShadowCounterfactual& c, const ShadowSlateCounterfactual& s) {
  const SlateEstimate& x = s.estimate;
  nlohmann::json slate = {{"estimated", s.estimated}, {"lists", x.lists}, {"left_out", s.left_out},
                          {"positions", x.positions}, {"examination", x.examination}, {"context_factor", x.context_factor},
                          {"dm", EstimateJson(x.dm)}, {"ips", EstimateJson(x.ips)}, {"dr", EstimateJson(x.dr)},
                          {"supported_share", x.supported_share}, {"supported_clicks", x.supported_clicks},
                          {"switched_rows", x.switched_rows}, {"max_weight", x.max_weight}, {"ess", x.ess}};
  if (!s.note.empty()) slate["note"] = s.note;
  const nlohmann::json none = {{"value", nullptr}, {"ci_low", nullptr}, {"ci_high", nullptr}};
  nlohmann::json j = {{"estimator", "position-based-dr"},
                      {"shadow_ctr", s.estimated ? EstimateJson(x.dr) : none},
                      {"logged_ctr", s.estimated ? EstimateJson(x.logged) : none},
                      {"lift", s.estimated ? EstimateJson(x.lift) : none},
                      {"slate", slate},{"rows", c.rows}, {"deterministic_rows", c.deterministic_rows}, {"matched", c.matched},
                      {"logged_clicks_per_list", c.logged_clicks_per_list},
                      {"ips", {{"value", c.ips}, {"ci_low", c.ips_low}, {"ci_high", c.ips_high}}},
                      {"snips", {{"value", c.snips}, {"ci_low", c.snips_low}, {"ci_high", c.snips_high}}},
                      {"ess", c.ess}, {"max_weight", c.max_weight}, {"unreliable", c.unreliable}};
  if (!c.warning.empty()) j["warning"] = c.warning;
  return j;
}

std::string CounterfactualLine(const ShadowCounterfactual& c) {
  char line[768];
  if (c.rows == 0) {
    std::snprintf(line, sizeof line,
                  "Counterfactual value: not estimable (%lld positions logged deterministically, propensity 1: the logs "
                  "give no support for other items; serve an arm with exploration).",
                  static_cast<long long>(c.deterministic_rows));
    return line;
  }
  std::snprintf(line, sizeof line,
                "Counterfactual value of the shadow model (clicks per list, from %lld explored positions, %lld matching "
                "the shadow list): SNIPS %.3f [%.3f, %.3f], IPS %.3f [%.3f, %.3f]; logged %.3f on the same requests. "
                "ESS %.0f, largest weight %.0f.%s%s",
                static_cast<long long>(c.rows), static_cast<long long>(c.matched), c.snips, c.snips_low, c.snips_high,
                c.ips, c.ips_low, c.ips_high, c.logged_clicks_per_list, c.ess, c.max_weight,
                c.unreliable ? " UNRELIABLE: " : "", c.warning.c_str());
  return line;
}

std::string SlateLine(const ShadowSlateCounterfactual& s) {
  if (!s.estimated) return "Counterfactual value (position-based DR): not estimated (" + s.note + ").";
  const SlateEstimate& x = s.estimate;
  char line[1024];
  std::snprintf(line, sizeof line,
                "Counterfactual value of the shadow model (position-based doubly robust, clicks per list, %lld lists): "
                "%.4f [%.4f, %.4f] against %.4f [%.4f, %.4f] logged by the served arms on the same requests: lift %+.1f%% "
                "[%+.1f%%, %+.1f%%]. %.0f%% of the shadow lists' examination mass was shown by the served lists (the "
                "rest rests on the click model alone: DM %.4f); %lld explored rows switched to the model, largest "
                "weight %.3g. Examination theta (EM) by position: ",
                static_cast<long long>(x.lists), x.dr.value, x.dr.ci_low, x.dr.ci_high, x.logged.value, x.logged.ci_low,
                x.logged.ci_high, 100 * x.lift.value, 100 * x.lift.ci_low, 100 * x.lift.ci_high, 100 * x.supported_share,
                x.dm.value, static_cast<long long>(x.switched_rows), x.max_weight);
  std::string out = line;
  for (size_t k = 0; k < x.examination.size(); ++k) {
    char t[32];
    std::snprintf(t, sizeof t, "%s%.3f", k ? ", " : "", x.examination[k]);
    out += t;
  }
  return out + ". Intervals treat the fitted click model as fixed (too narrow; docs/shadow.md).";
}

std::string Slug(const std::string& name) { return FileSlug(name); }

std::string ViolationsLine(const ExperimentShadowReport& e) {
  std::string risk;
  if (e.served.risk_mean >= 0 && e.shadow.risk_mean >= 0) {
    char buf[200];
    std::snprintf(buf, sizeof buf, " Risk (catalog scores): mean %.4f shadow vs %.4f served; disparity across provider groups %.4f vs %.4f.",
                  e.shadow.risk_mean, e.served.risk_mean, e.shadow.risk_disparity, e.served.risk_disparity);
    risk = buf;
  }
  if (e.policy.empty()) {
    return "Policy violations: not counted (no policy recorded with the experiment and none given; pass --policy FILE)." + risk;
  }
  return "Policy violations (" + e.policy + (e.policy_source.empty() ? "" : ", " + e.policy_source) + "): shadow " +
         std::to_string(e.violations) + ", served " + std::to_string(e.served.violations) + " listed items blocked." + risk;
}

struct Row {
  const char* name;
  double served, shadow;
};

std::vector<Row> MetricRows(const ExperimentShadowReport& e) {
  return {{"diversity index", e.served.diversity_index, e.shadow.diversity_index},
          {"intra-list diversity", e.served.intra_list_diversity, e.shadow.intra_list_diversity},
          {"novelty (bits)", e.served.novelty, e.shadow.novelty},
          {"catalog coverage", e.served.coverage, e.shadow.coverage},
          {"latency p50 (ms)", e.served.p50_ms, e.shadow.p50_ms},
          {"latency p95 (ms)", e.served.p95_ms, e.shadow.p95_ms},
          {"latency p99 (ms)", e.served.p99_ms, e.shadow.p99_ms},
          {"errors and timeouts", static_cast<double>(e.served.errors), static_cast<double>(e.shadow.errors)}};
}

std::string Summary(const ExperimentShadowReport& e) {
  char line[512];
  std::snprintf(line, sizeof line,
                "%lld requests, %lld compared, %lld dropped (shadow queue full). Agreement with the served lists: "
                "overlap@10 %.3f, RBO(0.9) %.3f, Kendall tau on shared items %.3f.",
                static_cast<long long>(e.requests), static_cast<long long>(e.compared), static_cast<long long>(e.dropped),
                e.overlap_at_10, e.rbo, e.kendall_tau);
  return line;
}

}  // namespace

std::string ShadowReportJson(const ShadowReport& report) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : report.experiments) {
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& w : e.windows) {
      windows.push_back({{"start_ms", w.start_ms}, {"end_ms", w.end_ms}, {"requests", w.requests}, {"compared", w.compared},
                         {"overlap_at_10", w.overlap_at_10}, {"rbo", w.rbo}, {"served_p99_ms", w.served_p99_ms},
                         {"shadow_p99_ms", w.shadow_p99_ms}, {"violations", w.violations}});
    }
    list.push_back({{"name", e.name}, {"shadow_model", e.shadow_model}, {"requests", e.requests}, {"compared", e.compared},
                    {"overlap_at_10", e.overlap_at_10}, {"rbo", e.rbo}, {"kendall_tau", e.kendall_tau},
                    {"dropped", e.dropped}, {"violations", e.violations},
                    {"policy", e.policy.empty() ? nlohmann::json() : nlohmann::json(e.policy)},
                    {"policy_source", e.policy_source.empty() ? nlohmann::json() : nlohmann::json(e.policy_source)},
                    {"served", SideJson(e.served)}, {"shadow", SideJson(e.shadow)}, {"windows", windows},
                    {"counterfactual", CounterfactualJson(e.counterfactual, e.slate)}});
  }
  return DumpJson(nlohmann::json{{"experiments", list}});
}

std::string ShadowReportMarkdown(const ShadowReport& report, bool charts) {
  std::ostringstream out;
  out << "# Shadow report\n\n";
  char line[512];
  for (const auto& e : report.experiments) {
    out << "## " << e.name << " — shadow model `" << e.shadow_model << "`\n\n" << Summary(e) << "\n\n";
    out << "| metric | served | shadow |\n|---|---|---|\n";
    for (const Row& r : MetricRows(e)) {
      std::snprintf(line, sizeof line, "| %s | %.4f | %.4f |\n", r.name, r.served, r.shadow);
      out << line;
    }
    out << "\n" << ViolationsLine(e) << "\n\n" << SlateLine(e.slate) << "\n\nDiagnostic, per-position IPS: "
        << CounterfactualLine(e.counterfactual) << "\n\n";
    if (charts) {
      const std::string slug = Slug(e.name);
      out << "![agreement over time](" << slug << "-agreement.png)\n\n![latency](" << slug << "-latency.png)\n\n![quality]("
          << slug << "-quality.png)\n\n";
    }
  }
  return out.str();
}

std::string ShadowReportHtml(const ShadowReport& report) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shadow report</title>\n"
         "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em;text-align:right}"
         "td:first-child,th:first-child{text-align:left}img{max-width:100%;display:block;margin:1em 0}</style>\n"
         "</head><body>\n<h1>Shadow report</h1>\n";
  char cell[64];
  for (const auto& e : report.experiments) {
    const std::string slug = HtmlEscape(Slug(e.name));
    out << "<h2>" << HtmlEscape(e.name) << " — shadow model <code>" << HtmlEscape(e.shadow_model) << "</code></h2>\n<p>"
        << HtmlEscape(Summary(e)) << "</p>\n<table><tr><th>metric</th><th>served</th><th>shadow</th></tr>\n";
    for (const Row& r : MetricRows(e)) {
      out << "<tr><td>" << r.name << "</td>";
      for (double v : {r.served, r.shadow}) {
        std::snprintf(cell, sizeof cell, "%.4f", v);
        out << "<td>" << cell << "</td>";
      }
      out << "</tr>\n";
    }
    out << "</table>\n<p>" << HtmlEscape(ViolationsLine(e)) << "</p>\n<p>" << HtmlEscape(SlateLine(e.slate))
        << "</p>\n<p>Diagnostic, per-position IPS: " << HtmlEscape(CounterfactualLine(e.counterfactual)) << "</p>\n";
    out << "<img src=\"" << slug << "-agreement.png\" alt=\"overlap@10 and RBO per window\">\n<img src=\"" << slug
        << "-latency.png\" alt=\"latency percentiles\">\n<img src=\"" << slug << "-quality.png\" alt=\"diversity and coverage\">\n";
  }
  out << "</body></html>\n";
  return out.str();
}

Status WriteShadowReportFiles(const ShadowReport& report, const std::string& dir) {
  RETURN_IF_ERROR(CreateOutputDirectory(dir));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.json", ShadowReportJson(report) + "\n"));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.md", ShadowReportMarkdown(report, /*charts=*/true)));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.html", ShadowReportHtml(report)));
  for (const auto& e : report.experiments) {
    const std::string base = dir + "/" + Slug(e.name);
    charts::Series overlap{"overlap@10", {}, {}}, rbo{"RBO (p = 0.9)", {}, {}};
    const int64_t t0 = e.windows.empty() ? 0 : e.windows.front().start_ms;
    for (const auto& w : e.windows) {
      if (!w.compared) continue;
      const double hours = static_cast<double>(w.start_ms - t0) / 3.6e6;
      overlap.x.push_back(hours);
      overlap.y.push_back(w.overlap_at_10);
      rbo.x.push_back(hours);
      rbo.y.push_back(w.rbo);
    }
    RETURN_IF_ERROR(charts::WritePng(charts::LineChart{e.name + ": agreement of shadow and served lists",
                                                       "hours since the first request (window start)", "agreement",
                                                       {overlap, rbo}},
                                     base + "-agreement.png"));
    RETURN_IF_ERROR(charts::WritePng(
        charts::BarChart{e.name + ": latency (served vs shadow " + e.shadow_model + ")", "milliseconds",
                         {"p50", "p95", "p99"}, {"served", "shadow"},
                         {{e.served.p50_ms, e.served.p95_ms, e.served.p99_ms}, {e.shadow.p50_ms, e.shadow.p95_ms, e.shadow.p99_ms}}},
        base + "-latency.png"));
    RETURN_IF_ERROR(charts::WritePng(
        charts::BarChart{e.name + ": list quality", "index (0-1)", {"diversity index", "intra-list diversity", "catalog coverage"},
                         {"served", "shadow"},
                         {{e.served.diversity_index, e.served.intra_list_diversity, e.served.coverage},
                          {e.shadow.diversity_index, e.shadow.intra_list_diversity, e.shadow.coverage}}},
        base + "-quality.png"));
  }
  return Status::Ok();
}

}  // namespace steward::shadow
