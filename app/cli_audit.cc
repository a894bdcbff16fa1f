#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/clock.h"
#include "serving/controller.h"
#include "storage/experiment_store.h"
#include "common/text.h"
#include "common/json.h"
#include "storage/audit_log.h"
#include "storage/json.h"
#include "storage/database.h"

namespace steward::app {
namespace {

struct AuditFlags {
  std::string db;
  bool json = false;
  int limit = 20;
};

}  // namespace

void AddAuditCommands(CLI::App& app) {
  auto flags = std::make_shared<AuditFlags>();
  auto* audit = app.add_subcommand("audit-log", "Inspect the hash-chained audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Check the hash chain; exit 0 when intact, 3 naming the first bad row");
  verify->add_option("--db", flags->db, "SQLite database")->required();
  verify->add_flag("--json", flags->json, "Print {\"ok\", \"rows\", \"first_bad_seq\", \"problem\"}");
  verify->callback([flags] {
    auto db = OpenExistingDatabase(flags->db, /*read_only=*/true);
    auto result = storage::AuditLog(*db).Verify();
    if (!result.ok()) Fail(result.status());
    // The persisted rollout states must be the chain's (serving/controller.h checks it on every read).
    int64_t states = 0;
    if (result->ok) {
      auto experiments = storage::ExperimentStore(*db).List();
      if (!experiments.ok()) Fail(experiments.status());
      serving::RolloutController controller(*db, SystemClock::Default());
      for (const auto& e : *experiments) {
        auto s = controller.Status(e.name);
        if (s.ok()) {
          ++states;
          continue;
        }
        result->ok = false;
        result->problem = s.status().message();
        break;
      }
    }
    if (flags->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"ok", result->ok}, {"rows", result->rows}, {"first_bad_seq", result->first_bad_seq},
                                            {"problem", result->problem}, {"anchored_seq", result->anchored_seq},
                                            {"anchor", result->anchor_path}, {"unanchored_reason", result->unanchored_reason},
                                            {"states_verified", states}}));
    } else if (result->ok) {
      std::printf("audit log intact: %lld rows, hash chain verified\n", static_cast<long long>(result->rows));
      if (result->unanchored_reason.empty()) {
        std::printf("anchored through row seq=%lld (%s); %lld rollout states match the chain\n",
                    static_cast<long long>(result->anchored_seq), result->anchor_path.c_str(), static_cast<long long>(states));
      } else {
        std::printf("NOT ANCHORED: %s; truncation from the end cannot be detected\n", result->unanchored_reason.c_str());
      }
    } else {
      std::fprintf(stderr, "audit log BROKEN at row seq=%lld: %s\n", static_cast<long long>(result->first_bad_seq),
                   result->problem.c_str());
    }
    if (!result->ok) throw CLI::RuntimeError(3);
  });
  auto* list = audit->add_subcommand("list", "Print the newest audit rows");
  list->add_option("--db", flags->db, "SQLite database")->required();
  list->add_option("--limit", flags->limit, "Rows to print (0 = all)")->capture_default_str();
  list->add_flag("--json", flags->json, "One JSON object per row");
  list->callback([flags] {
    auto db = OpenExistingDatabase(flags->db, /*read_only=*/true);
    auto rows = storage::AuditLog(*db).Recent(flags->limit);
    if (!rows.ok()) Fail(rows.status());
    for (const auto& e : *rows) {
      if (flags->json) {
        PrintJsonLine(storage::AuditEntryJson(e, storage::PayloadAs::kText));
      } else {
        // Rows written before control characters were refused are printed sanitised: an escape
        // sequence in a stored reason cannot rewrite the terminal.
        std::printf("%6lld  %-14s %-22s %-16s %s\n", static_cast<long long>(e.seq), SanitizeLine(e.actor).c_str(),
                    SanitizeLine(e.action).c_str(), SanitizeLine(e.subject).c_str(), SanitizeLine(e.reason).c_str());
      }
    }
  });
}

}  // namespace steward::app
