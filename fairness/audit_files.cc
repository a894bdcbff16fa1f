// `steward audit --out DIR`: the audit as files for reviewers (report.json, report.md, report.html
// and PNG charts drawn with charts/).
#include <sstream>

#include "charts/charts.h"
#include "common/file.h"
#include "common/text.h"
#include "fairness/audit.h"

namespace steward::fairness {
namespace {

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// One line per arm over the windows of `metric` (days since the first exposure).
std::vector<charts::Series> WindowLines(const ExperimentAudit& e, const std::string& metric, const std::string& suffix = "") {
  std::vector<charts::Series> out;
  for (const ArmAudit& arm : e.arms) {
    charts::Series line{arm.name + suffix, {}, {}};
    for (const WindowAudit& w : e.windows) {
      if (w.arm != arm.name) continue;
      auto it = w.metrics.find(metric);
      if (it == w.metrics.end()) continue;
      line.x.push_back(static_cast<double>(w.start_ms - e.from_ms) / 86'400'000.0);
      line.y.push_back(it->second);
    }
    if (!line.x.empty()) out.push_back(std::move(line));
  }
  return out;
}

}  // namespace

std::string AuditReportHtml(const std::vector<ExperimentAudit>& audits) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Governance audit</title>\n"
         "<style>body{font-family:sans-serif;max-width:64em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
         "td:first-child,th:first-child{text-align:left}.fail{color:#b00;font-weight:bold}.pass{color:#070}"
         ".insufficient_data{color:#a60}img{max-width:100%;display:block;margin:1em 0}</style>\n"
         "</head><body>\n<h1>Governance audit</h1>\n<p>Definitions: docs/metrics.md (version "
      << kDefinitionsVersion << "). Intervals: 95% bootstrap over users.</p>\n";
  for (const ExperimentAudit& e : audits) {
    const std::string slug = HtmlEscape(FileSlug(e.name));
    out << "<h2>" << HtmlEscape(e.name) << "</h2>\n<p class=\"" << (e.passed ? "pass" : "fail") << "\">"
        << (e.passed ? "All treatment checks pass." : "Treatment checks fail:") << "</p>\n";
    if (!e.failures.empty()) {
      out << "<ul>";
      for (const std::string& f : e.failures) out << "<li>" << HtmlEscape(f) << "</li>";
      out << "</ul>\n";
    }
    out << "<p>Item groups: " << HtmlEscape(e.item_grouping) << ". User groups: " << HtmlEscape(e.user_grouping) << ".</p>\n";
    for (const ArmAudit& a : e.arms) {
      out << "<h3>" << HtmlEscape(a.name) << " (" << a.exposures << " lists, " << a.users << " users)</h3>\n";
      if (!a.checks.empty()) {
        out << "<table><tr><th>check</th><th>value</th><th>95% CI</th><th>threshold</th><th>status</th></tr>\n";
        for (const AuditCheck& c : a.checks) {
          out << "<tr><td>" << HtmlEscape(c.key) << "</td><td>" << Fmt(c.figure.value) << "</td><td>[" << Fmt(c.figure.ci_low) << ", "
              << Fmt(c.figure.ci_high) << "]</td><td>" << (c.bound == experiment::AuditBound::kMax ? "&le; " : "&ge; ")
              << Fmt(c.threshold) << "</td><td class=\"" << CheckStatusName(c.status) << "\">" << CheckStatusName(c.status)
              << (c.note.empty() ? "" : " (" + HtmlEscape(c.note) + ")") << "</td></tr>\n";
        }
        out << "</table>\n";
      }
      out << "<table><tr><th>metric</th><th>value</th><th>95% CI</th></tr>\n";
      for (const auto& [name, f] : a.metrics) {
        if (name == "homogenization_windows") continue;
        out << "<tr><td>" << HtmlEscape(name) << "</td><td>" << Fmt(f.value) << "</td><td>[" << Fmt(f.ci_low) << ", " << Fmt(f.ci_high)
            << "]</td></tr>\n";
      }
      out << "</table>\n";
    }
    out << "<img src=\"" << slug << "-exposure.png\" alt=\"exposure share by item group vs the catalog share\">\n<img src=\"" << slug
        << "-disparity.png\" alt=\"exposure disparity over time\">\n<img src=\"" << slug
        << "-lorenz.png\" alt=\"Lorenz curve of item exposure\">\n<img src=\"" << slug
        << "-feedback.png\" alt=\"diversity and homogenization over time\">\n";
  }
  out << "</body></html>\n";
  return out.str();
}

Status WriteAuditFiles(const std::vector<ExperimentAudit>& audits, const AuditOptions& options, const std::string& dir) {
  RETURN_IF_ERROR(CreateOutputDirectory(dir));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.json", AuditReportJson(audits, options) + "\n"));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.md", AuditReportMarkdown(audits, /*charts=*/true)));
  RETURN_IF_ERROR(WriteTextFile(dir, "report.html", AuditReportHtml(audits)));
  for (const ExperimentAudit& e : audits) {
    const std::string base = dir + "/" + FileSlug(e.name);
    // Exposure share by item group, each arm beside the catalog's share.
    charts::BarChart shares{e.name + ": position-weighted exposure share by item group", "share of exposure", {}, {}, {}};
    if (!e.arms.empty()) shares.groups = e.arms.front().item_groups;
    for (const ArmAudit& a : e.arms) {
      shares.series_names.push_back(a.name);
      std::vector<double> v;
      for (const Figure& f : a.exposure_share) v.push_back(f.value);
      shares.values.push_back(v);
    }
    if (!e.arms.empty()) {
      shares.series_names.push_back("catalog (target)");
      shares.values.push_back(e.arms.front().target_share);
    }
    RETURN_IF_ERROR(charts::WritePng(shares, base + "-exposure.png"));
    RETURN_IF_ERROR(charts::WritePng(charts::LineChart{e.name + ": exposure disparity per window", "days since the first exposure",
                                                       "max |share - catalog share|", WindowLines(e, "exposure_disparity")},
                                     base + "-disparity.png"));
    // Lorenz curves: cumulative share of items (least exposed first) vs cumulative share of exposure.
    charts::LineChart lorenz{e.name + ": Lorenz curve of item exposure", "share of catalog items (least exposed first)",
                             "share of exposure", {}};
    lorenz.series.push_back({"equality", {0.0, 1.0}, {0.0, 1.0}});
    for (const ArmAudit& a : e.arms) {
      charts::Series line{a.name + " (Gini " + Fmt(a.metrics.count("gini") ? a.metrics.at("gini").value : 0.0) + ")", {0.0}, {0.0}};
      double total = 0.0;
      for (double c : a.item_exposure_sorted) total += c;
      const size_t n = a.item_exposure_sorted.size();
      const size_t step = std::max<size_t>(1, n / 200);  // at most ~200 points per curve
      double cumulative = 0.0;
      for (size_t i = 0; i < n; ++i) {
        cumulative += a.item_exposure_sorted[i];
        if ((i + 1) % step != 0 && i + 1 != n) continue;
        line.x.push_back(static_cast<double>(i + 1) / static_cast<double>(n));
        line.y.push_back(total > 0.0 ? cumulative / total : 0.0);
      }
      lorenz.series.push_back(std::move(line));
    }
    RETURN_IF_ERROR(charts::WritePng(lorenz, base + "-lorenz.png"));
    std::vector<charts::Series> feedback = WindowLines(e, "diversity_index", " div.");
    for (charts::Series& s : WindowLines(e, "homogenization", " homog.")) feedback.push_back(std::move(s));
    RETURN_IF_ERROR(charts::WritePng(charts::LineChart{e.name + ": diversity and homogenization per window", "days since the first exposure",
                                                       "index (0-1)", feedback},
                                     base + "-feedback.png"));
  }
  return Status::Ok();
}

}  // namespace steward::fairness
