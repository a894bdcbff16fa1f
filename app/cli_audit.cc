#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
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
    if (flags->json) {
      PrintJsonLine(DumpJson(nlohmann::json{{"ok", result->ok}, {"rows", result->rows}, {"first_bad_seq", result->first_bad_seq},
                                            {"problem", result->problem}}));
    } else if (result->ok) {
      std::printf("audit log intact: %lld rows, hash chain verified\n", static_cast<long long>(result->rows));
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
        std::printf("%6lld  %-14s %-22s %-16s %s\n", static_cast<long long>(e.seq), e.actor.c_str(), e.action.c_str(),
                    e.subject.c_str(), e.reason.c_str());
      }
    }
  });
}

}  // namespace steward::app
