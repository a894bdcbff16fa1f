// `steward events guardrails`: the per-arm guardrail sums of an experiment, computed where the
// events are: a SQLite database (--db) or ClickHouse (--events clickhouse://...), one SQL query
// each (storage/clickhouse.h). Both print the same bytes for the same events: every sum is an
// integer. Issue #14 (docs/scale-out.md).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "common/json.h"
#include "storage/clickhouse.h"
#include "storage/database.h"

namespace steward::app {
namespace {

struct EventsFlags {
  std::string db, events, experiment;
  int64_t from_ms = 0, until_ms = INT64_MAX;
  bool json = false;
};

void RunGuardrails(const EventsFlags& f) {
  if (f.db.empty() == f.events.empty()) Fail(InvalidArgument("give either --db PATH (SQLite) or --events clickhouse://HOST:PORT/DB"));
  if (f.until_ms <= f.from_ms) Fail(InvalidArgument("--until-ms must be after --from-ms"));
  StatusOr<std::vector<storage::ArmAggregate>> arms = Internal("not computed");
  if (!f.db.empty()) {
    auto db = OpenExistingDatabase(f.db, /*read_only=*/true);
    arms = storage::GuardrailAggregatesSqlite(*db, f.experiment, f.from_ms, f.until_ms);
  } else {
    auto url = storage::ParseClickHouseUrl(f.events);
    if (!url.ok()) Fail(InvalidArgument("--events: " + url.status().message()));
    storage::ClickHouseClient client(*url);
    arms = storage::GuardrailAggregatesClickHouse(client, *url, f.experiment, f.from_ms, f.until_ms);
  }
  if (!arms.ok()) Fail(arms.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : *arms) {
    out.push_back({{"arm", a.arm},
                   {"exposures", a.exposures},
                   {"users", a.users},
                   {"sx", {a.sx[0], a.sx[1], a.sx[2]}},
                   {"sxx", {a.sxx[0], a.sxx[1], a.sxx[2]}},
                   {"sxy", {a.sxy[0], a.sxy[1], a.sxy[2]}},
                   {"sy", a.sy},
                   {"syy", a.syy}});
  }
  if (f.json) {
    PrintJsonLine(DumpJson(nlohmann::json{{"experiment", f.experiment}, {"arms", out}}));
    return;
  }
  std::printf("%-14s %10s %10s %10s %12s %16s\n", "arm", "exposures", "users", "clicks", "conversions", "latency_us");
  for (const auto& a : *arms) {
    std::printf("%-14s %10lld %10lld %10lld %12lld %16lld\n", a.arm.c_str(), static_cast<long long>(a.exposures),
                static_cast<long long>(a.users), static_cast<long long>(a.sx[0]), static_cast<long long>(a.sx[1]),
                static_cast<long long>(a.sx[2]));
  }
}

}  // namespace

void AddEventsCommands(CLI::App& app) {
  auto f = std::make_shared<EventsFlags>();
  auto* events = app.add_subcommand("events", "Event analyses run where the events are (SQLite or ClickHouse)");
  events->require_subcommand(1);
  auto* g = events->add_subcommand(
      "guardrails",
      "Per-arm guardrail sums of an experiment: exposures, users, and per-user sums of clicks, conversions and latency "
      "(x), exposures (y), their squares and products (the delta method's inputs)");
  g->add_option("--db", f->db, "SQLite database (a path or sqlite:PATH)");
  g->add_option("--events", f->events, "Or ClickHouse: clickhouse://HOST:PORT/DB[?cluster=NAME]");
  g->add_option("--experiment", f->experiment, "Experiment name")->required();
  g->add_option("--from-ms", f->from_ms, "Only exposures at or after this event time (ms)");
  g->add_option("--until-ms", f->until_ms, "Only exposures before this event time (ms)");
  g->add_flag("--json", f->json, "Print {\"experiment\", \"arms\": [{arm, exposures, users, sx, sxx, sxy, sy, syy}]}");
  g->callback([f] { RunGuardrails(*f); });
}

}  // namespace steward::app
