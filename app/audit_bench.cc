#include "app/audit_bench.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/paths.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/rng.h"
#include "experiment/experiment_config.h"
#include "fairness/audit.h"
#include "serving/controller.h"
#include "serving/pipeline.h"
#include "storage/database.h"
#include "storage/event_writer.h"
#include "storage/queries.h"

namespace steward::app {
namespace {

constexpr int kItems = 10000, kCategories = 12, kListSize = 10, kUsers = 100000;
constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01, as the simulator
constexpr int64_t kSpanMs = 14 * 86'400'000LL;

}  // namespace

StatusOr<AuditBenchResult> RunAuditBench(const AuditBenchOptions& options) {
  if (options.exposures < 1) return InvalidArgument("exposures must be at least 1");
  if (options.db_path.empty()) return InvalidArgument("the benchmark needs a database path (--db)");
  const std::string data_dir = ResolveDataDir(options.data_dir);
  ASSIGN_OR_RETURN(experiment::ExperimentConfig config, experiment::LoadExperimentConfig(data_dir + "/experiments/demo.yaml"));
  for (const char* suffix : {"", "-wal", "-shm", ".anchor"}) std::filesystem::remove(options.db_path + suffix);
  const Clock& clock = SystemClock::Default();
  const int64_t t0 = clock.MonotonicNanos();
  {
    ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path));
    ManualClock at(kStartMs);
    RETURN_IF_ERROR(serving::RolloutController(*db, at).Create(config, "bench").status());
    // Catalog: Zipf(1) popularity over items; provider tier by popularity rank (head 10%, mid 30%).
    std::vector<storage::CatalogRow> rows;
    Rng rng(options.seed);
    for (int i = 0; i < kItems; ++i) {
      const int tier = i < kItems / 10 ? 0 : i < 4 * kItems / 10 ? 1 : 2;
      rows.push_back({i + 1, static_cast<int>(rng.UniformInt(kCategories)), tier, 1e6 / (i + 1.0)});
    }
    RETURN_IF_ERROR(storage::SaveCatalog(*db, rows));
  }
  {
    storage::EventWriterOptions writer_options;
    writer_options.sync = storage::SyncMode::kNormal;
    ASSIGN_OR_RETURN(auto writer, storage::EventWriter::Start(options.db_path, writer_options));
    Rng rng(options.seed + 1);
    // Items drawn from a Zipf(1) law by inverse CDF over the harmonic partial sums.
    std::vector<double> cdf(kItems);
    double h = 0.0;
    for (int i = 0; i < kItems; ++i) cdf[static_cast<size_t>(i)] = (h += 1.0 / (i + 1.0));
    const auto draw = [&](double tail_boost) {
      if (rng.Uniform() < tail_boost) return static_cast<int64_t>(rng.UniformInt(kItems)) + 1;
      const double u = rng.Uniform() * h;
      return static_cast<int64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()) + 1;
    };
    static const char* kAges[] = {"18-29", "30-49", "50+"};
    Progress progress("bench audit: writing", static_cast<uint64_t>(options.exposures), "exposures", clock);
    progress.set_enabled(options.progress);
    std::vector<storage::Event> batch;
    for (int64_t r = 0; r < options.exposures; ++r) {
      const auto user = static_cast<int64_t>(rng.UniformInt(kUsers)) + 1;
      const bool treatment = Mix64(static_cast<uint64_t>(user)) % 2 == 1;
      storage::Exposure e;
      e.request_id = r + 1;
      e.ts_ms = kStartMs + kSpanMs * r / options.exposures;
      e.user_id = user;
      e.user_key = std::to_string(user);
      e.attributes = DumpJson(nlohmann::json{{"age_band", kAges[user % 3]}, {"user_type", user % 7 == 0 ? "new" : "established"}});
      e.experiment = config.name;
      e.arm = config.arms[treatment ? 1 : 0].name;
      e.model_version = treatment ? "bench-treatment" : "bench-control";
      e.latency_us = 500;
      for (int p = 0; p < kListSize; ++p) {
        const bool explore = treatment && p == kListSize - 1;
        e.served.push_back({draw(treatment ? 0.3 : 0.05), explore ? 0.1 : 1.0});
        e.shadow_items.push_back(draw(0.0));
      }
      e.shadow_model_version = "bench-shadow";
      if (options.screened) {
        // The record SafetyScreen::RecordJson writes: a risk per position and its decisions.
        std::string risk;
        char buf[48];
        for (int p = 0; p < kListSize; ++p) {
          std::snprintf(buf, sizeof buf, "%s%.4g", p ? "," : "", 0.01 + 0.3 * rng.Uniform() * rng.Uniform());
          risk += buf;
        }
        e.safety = "{\"v\":1,\"scorer\":\"risk-v1\",\"risk\":[" + risk + "],\"decisions\":[[1,\"block\",\"blocklist\",0.05],[" +
                   std::to_string(draw(0.0)) + ",\"block\",\"risk\",0.71]" +
                   (r % 5 == 0 ? ",[" + std::to_string(e.served[3].item_id) + ",\"demote\",\"risk_demote\",0.25]" : std::string()) + "]}";
      }
      batch.emplace_back(e);
      for (int p = 0; p < kListSize; ++p) {
        if (!rng.Bernoulli(0.03 / (1.0 + 0.1 * p))) continue;
        batch.emplace_back(storage::Feedback{e.request_id, e.ts_ms + 1000, user, e.served[static_cast<size_t>(p)].item_id, p + 1,
                                             storage::FeedbackKind::kClick, 1.0});
      }
      if (batch.size() >= 4096) {
        RETURN_IF_ERROR(writer->SubmitBatch(std::move(batch)).status());
        batch = {};
        progress.Update(static_cast<uint64_t>(r + 1));
      }
    }
    if (!batch.empty()) RETURN_IF_ERROR(writer->SubmitBatch(std::move(batch)).status());
    RETURN_IF_ERROR(writer->Flush());
    RETURN_IF_ERROR(writer->Close());
    progress.Finish();
  }
  AuditBenchResult result;
  result.exposures = options.exposures;
  result.generate_seconds = static_cast<double>(clock.MonotonicNanos() - t0) / 1e9;
  ASSIGN_OR_RETURN(auto db, storage::Database::Open(options.db_path, {.read_only = true}));
  fairness::AuditOptions audit_options;
  audit_options.bootstrap = options.bootstrap;
  audit_options.seed = options.seed;
  audit_options.excluded_arm = serving::kExcludedArm;
  audit_options.computed_at_ms = clock.NowMillis();
  const int64_t t1 = clock.MonotonicNanos();
  ASSIGN_OR_RETURN(const fairness::ExperimentAudit audit, fairness::AuditExperiment(*db, config, audit_options));
  result.audit_seconds = static_cast<double>(clock.MonotonicNanos() - t1) / 1e9;
  for (const auto& arm : audit.arms) result.users += arm.shadow ? 0 : arm.users;
  result.passed = audit.passed;
  return result;
}

}  // namespace steward::app
