// `steward audit`: governance audits (fairness/), reviewer sign-off in the ramp, and the reviewed
// samples of served lists. Flags are parsed here; every figure and rule lives in a library.
#include <cstdio>
#include <memory>
#include <string>

#include "app/cli.h"
#include "fairness/exposure_log.h"

namespace steward::app {
namespace {

struct GovernanceFlags {
  std::string log, items;
  bool json = false;
};

template <typename T>
T OrFail(StatusOr<T> value) {
  if (!value.ok()) Fail(value.status());
  return std::move(value).value();
}

void PrintExposureAudit(const fairness::ExposureLogAudit& a) {
  std::printf("%lld lists, %lld users\n", static_cast<long long>(a.lists), static_cast<long long>(a.users));
  std::printf("  %-24s %10s %10s\n", "item group", "exposure", "target");
  for (const auto& [group, share] : a.exposure_share) {
    std::printf("  %-24s %10.4f %10.4f\n", group.c_str(), share, a.target_share.at(group));
  }
  std::printf("  exposure disparity %.4f, ratio %.4f\n", a.exposure_disparity, a.exposure_ratio);
  for (const auto& [group, g] : a.user_groups) {
    std::printf("  user group %-16s ctr %.4f over %lld lists\n", group.c_str(), g.ctr, static_cast<long long>(g.lists));
  }
  std::printf("  ctr difference %.4f, ratio %.4f\n", a.ctr_difference, a.ctr_ratio);
  std::printf("  gini %.4f  coverage %.4f  aplt %.4f  arp %.4f  diversity %.4f  novelty %.4f\n", a.gini, a.coverage, a.aplt,
              a.arp, a.diversity_index, a.novelty);
}

}  // namespace

void AddGovernanceCommands(CLI::App& app) {
  auto f = std::make_shared<GovernanceFlags>();
  auto* audit = app.add_subcommand("audit", "Governance audits: exposure parity, diversity, popularity bias, feedback loops; "
                                            "reviewer sign-off (docs/cli.md)");
  audit->require_subcommand(1);

  auto* exposures = audit->add_subcommand(
      "exposures", "Audit a plain impression log that did not come from Steward (definitions: docs/metrics.md)");
  exposures->add_option("--log", f->log, "CSV request_id,user_id,user_group,item_id,position,clicked (position 1-based)")
      ->required();
  exposures->add_option("--items", f->items, "CSV item_id,group,category,popularity: the catalog")->required();
  exposures->add_flag("--json", f->json, "Print one JSON object (docs/cli.md)");
  exposures->callback([f] {
    const fairness::LogCatalog catalog = OrFail(fairness::LoadLogCatalog(f->items));
    const fairness::ExposureLog log = OrFail(fairness::LoadExposureLog(f->log, catalog));
    const fairness::ExposureLogAudit result = fairness::AuditExposureLog(log, catalog);
    if (f->json) {
      PrintJsonLine(fairness::ExposureLogAuditJson(result));
    } else {
      PrintExposureAudit(result);
    }
  });
}

}  // namespace steward::app
