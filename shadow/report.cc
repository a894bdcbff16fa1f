#include "shadow/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "common/percentile.h"
#include "fairness/metrics.h"
#include "shadow/compare.h"
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
  ASSIGN_OR_RETURN(auto rows, storage::LoadCatalog(db));
  std::unordered_map<int64_t, storage::CatalogRow> catalog;
  int num_categories = 1;
  for (const auto& r : rows) {
    catalog[r.item_id] = r;
    num_categories = std::max(num_categories, r.category + 1);
  }
  ASSIGN_OR_RETURN(auto names, db.Prepare(
      "SELECT DISTINCT experiment, model_version FROM shadow_results WHERE ?1 = '' OR experiment = ?1 ORDER BY experiment"));
  names->BindText(1, experiment);
  ASSIGN_OR_RETURN(auto pairs, storage::CollectRows(*names, [](const storage::Statement& r) {
    return std::make_pair(r.ColumnText(0), r.ColumnText(1));
  }));
  ShadowReport report;
  for (const auto& [name, model] : pairs) {
    ExperimentShadowReport e;
    e.name = name;
    e.shadow_model = model;
    ASSIGN_OR_RETURN(auto st, db.Prepare(
        "SELECT x.served, x.latency_us, s.items, s.latency_us, s.error, s.timed_out FROM exposures x "
        "LEFT JOIN shadow_results s ON s.request_id = x.request_id WHERE x.experiment = ?"));
    st->BindText(1, name);
    Side served, shadow;
    double overlap = 0, rbo = 0, tau = 0;
    std::unordered_map<int64_t, double> exposure_count;
    double total = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ++e.requests;
      std::vector<int64_t> s_items;
      for (const auto& pair : nlohmann::json::parse(st->ColumnText(0))) s_items.push_back(pair[0].get<int64_t>());
      for (int64_t id : s_items) {
        exposure_count[id] += 1;
        total += 1;
      }
      served.latency_ms.push_back(static_cast<double>(st->ColumnInt(1)) / 1000.0);
      if (st->ColumnIsNull(2)) {
        ++e.dropped;
        served.lists.push_back(std::move(s_items));
        continue;
      }
      std::vector<int64_t> h_items = nlohmann::json::parse(st->ColumnText(2)).get<std::vector<int64_t>>();
      shadow.latency_ms.push_back(static_cast<double>(st->ColumnInt(3)) / 1000.0);
      shadow.errors += st->ColumnInt(4) + st->ColumnInt(5);
      ++e.compared;
      overlap += JaccardAtK(s_items, h_items, 10);
      rbo += RankBiasedOverlap(s_items, h_items, 0.9);
      tau += KendallTauOnIntersection(s_items, h_items);
      served.lists.push_back(std::move(s_items));
      shadow.lists.push_back(std::move(h_items));
    }
    if (e.compared) {
      e.overlap_at_10 = overlap / static_cast<double>(e.compared);
      e.rbo = rbo / static_cast<double>(e.compared);
      e.kendall_tau = tau / static_cast<double>(e.compared);
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
    e.served = Summarise(served, catalog, share, num_categories);
    e.shadow = Summarise(shadow, catalog, share, num_categories);
    report.experiments.push_back(std::move(e));
  }
  return report;
}

namespace {
nlohmann::json SideJson(const SideMetrics& m) {
  return {{"diversity_index", m.diversity_index}, {"novelty", m.novelty}, {"coverage", m.coverage},
          {"intra_list_diversity", m.intra_list_diversity}, {"p50_ms", m.p50_ms}, {"p95_ms", m.p95_ms},
          {"p99_ms", m.p99_ms}, {"errors", m.errors}};
}
}  // namespace

std::string ShadowReportJson(const ShadowReport& report) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : report.experiments) {
    list.push_back({{"name", e.name}, {"shadow_model", e.shadow_model}, {"requests", e.requests}, {"compared", e.compared},
                    {"overlap_at_10", e.overlap_at_10}, {"rbo", e.rbo}, {"kendall_tau", e.kendall_tau},
                    {"dropped", e.dropped}, {"violations", e.violations}, {"served", SideJson(e.served)},
                    {"shadow", SideJson(e.shadow)}});
  }
  return nlohmann::json{{"experiments", list}}.dump();
}

std::string ShadowReportMarkdown(const ShadowReport& report) {
  std::ostringstream out;
  out << "# Shadow report\n\n";
  char line[512];
  for (const auto& e : report.experiments) {
    out << "## " << e.name << " — shadow model `" << e.shadow_model << "`\n\n";
    std::snprintf(line, sizeof line,
                  "%lld requests, %lld compared, %lld dropped (shadow queue full). Agreement with the served lists: "
                  "overlap@10 %.3f, RBO(0.9) %.3f, Kendall tau on shared items %.3f.\n\n",
                  static_cast<long long>(e.requests), static_cast<long long>(e.compared), static_cast<long long>(e.dropped),
                  e.overlap_at_10, e.rbo, e.kendall_tau);
    out << line;
    out << "| metric | served | shadow |\n|---|---|---|\n";
    const auto row = [&](const char* name, double a, double b) {
      std::snprintf(line, sizeof line, "| %s | %.4f | %.4f |\n", name, a, b);
      out << line;
    };
    row("diversity index", e.served.diversity_index, e.shadow.diversity_index);
    row("intra-list diversity", e.served.intra_list_diversity, e.shadow.intra_list_diversity);
    row("novelty (bits)", e.served.novelty, e.shadow.novelty);
    row("catalog coverage", e.served.coverage, e.shadow.coverage);
    row("latency p50 (ms)", e.served.p50_ms, e.shadow.p50_ms);
    row("latency p95 (ms)", e.served.p95_ms, e.shadow.p95_ms);
    row("latency p99 (ms)", e.served.p99_ms, e.shadow.p99_ms);
    row("errors and timeouts", static_cast<double>(e.served.errors), static_cast<double>(e.shadow.errors));
    out << "\nPolicy violations: " << e.violations << " (no policy filter recorded for this experiment).\n\n";
  }
  return out.str();
}

}  // namespace steward::shadow
