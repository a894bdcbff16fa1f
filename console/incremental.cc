#include "console/incremental.h"

#include <algorithm>
#include <cmath>

#include "common/clock.h"
#include "experiment/stats.h"
#include "serving/controller.h"
#include "storage/audit_log.h"
#include "storage/events.h"
#include "storage/experiment_store.h"
#include "storage/statement.h"

namespace steward::console {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr const char* kExcluded = "excluded";  // serving::kExcludedArm (serving/pipeline.h)
constexpr double kBucketBase = 1.05;
constexpr size_t kRecentAudit = 50;

bool IsV2(const std::string& hash) { return storage::AuditLog::IsV2Hash(hash); }

storage::AuditEntry ReadEntry(const storage::Statement& st) {
  storage::AuditEntry e;
  e.seq = st.ColumnInt(0);
  e.ts_ms = st.ColumnInt(1);
  e.actor = st.ColumnText(2);
  e.action = st.ColumnText(3);
  e.subject = st.ColumnText(4);
  e.reason = st.ColumnText(5);
  e.payload = st.ColumnText(6);
  e.prev_hash = st.ColumnText(7);
  e.hash = st.ColumnText(8);
  return e;
}

}  // namespace

void LatencyHistogram::Add(double ms) {
  const double us = std::max(1.0, ms * 1000.0);
  const int b = std::clamp(static_cast<int>(std::log(us) / std::log(kBucketBase)), 0, kBuckets - 1);
  ++buckets_[static_cast<size_t>(b)];
  ++count_;
}

double LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0.0;
  const double rank = q * static_cast<double>(count_);
  int64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<size_t>(b)];
    if (static_cast<double>(seen) >= rank) {
      // The bucket's geometric middle, in ms.
      return std::pow(kBucketBase, b + 0.5) / 1000.0;
    }
  }
  return std::pow(kBucketBase, kBuckets) / 1000.0;
}

void IncrementalReader::UpdateUser(Arm& arm, int64_t user, const UserTotals& delta) {
  UserTotals& u = arm.users[user];
  auto numerators = [](const UserTotals& t) {
    return std::array<double, experiment::kNumMetrics>{t.clicks, t.conversions, t.latency_ms, 0.0};
  };
  if (u.lists > 0) {
    const auto old = numerators(u);
    for (int m = 0; m < experiment::kNumMetrics; ++m) experiment::RemoveUnit(arm.sums[static_cast<size_t>(m)], old[static_cast<size_t>(m)], u.lists);
  }
  u.lists += delta.lists;
  u.clicks += delta.clicks;
  u.conversions += delta.conversions;
  u.latency_ms += delta.latency_ms;
  if (u.lists > 0) {
    const auto now = numerators(u);
    for (int m = 0; m < experiment::kNumMetrics; ++m) arm.sums[static_cast<size_t>(m)].Add(now[static_cast<size_t>(m)], u.lists);
  }
}

Status IncrementalReader::ReadExposures(storage::Database& db, int64_t now_wall_ms) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT request_id, ts_ms, user_id, experiment, arm, latency_us, shadow_model_version IS NOT NULL "
      "FROM exposures WHERE request_id > ? ORDER BY request_id"));
  st->BindInt(1, exposure_cursor_);
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ++rows_read_;
    ++exposure_rows_;
    exposure_cursor_ = st->ColumnInt(0);
    const int64_t ts = st->ColumnInt(1);
    Experiment& e = experiments_[st->ColumnText(3)];
    Arm& arm = e.arms[st->ColumnText(4)];
    const double latency_ms = static_cast<double>(st->ColumnInt(5)) / 1000.0;
    ++arm.exposures;
    arm.latency.Add(latency_ms);
    const int64_t bucket = ts - ts % kHourMs;
    ++arm.hourly_counts[bucket].first;
    arm.hourly_latency[bucket].Add(latency_ms);
    UpdateUser(arm, st->ColumnInt(2), UserTotals{1, 0, 0, latency_ms});
    e.last_exposure_ms = std::max(e.last_exposure_ms, ts);
    e.last_new_traffic_wall_ms = now_wall_ms;
    if (st->ColumnInt(6) != 0) ++e.shadow.expected;
  }
  return Status::Ok();
}

Status IncrementalReader::ReadFeedback(storage::Database& db) {
  // Feedback joined to its exposure by primary key. A row whose exposure is not committed yet
  // (request id past the exposure cursor) stops the read; it is retried next refresh.
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT f.rowid, f.request_id, f.position, f.kind, e.experiment, e.arm, e.user_id, e.ts_ms, e.request_id IS NOT NULL "
      "FROM feedback f LEFT JOIN exposures e ON e.request_id = f.request_id WHERE f.rowid > ? ORDER BY f.rowid"));
  st->BindInt(1, feedback_cursor_);
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ++rows_read_;
    const int64_t request = st->ColumnInt(1);
    const bool has_exposure = st->ColumnInt(8) != 0;
    if (!has_exposure && request > exposure_cursor_) break;  // its exposure is still on its way
    feedback_cursor_ = st->ColumnInt(0);
    ++feedback_rows_;
    if (!has_exposure) continue;  // orphan feedback (its exposure was refused): not counted
    const int64_t kind = st->ColumnInt(3);
    const int64_t key = request * 1024 + st->ColumnInt(2);
    UserTotals delta;
    if (kind == static_cast<int64_t>(storage::FeedbackKind::kClick)) {
      if (!clicked_.insert(key).second) continue;  // distinct positions, as the guardrails count
      delta.clicks = 1;
    } else if (kind == static_cast<int64_t>(storage::FeedbackKind::kConversion)) {
      if (!converted_.insert(key).second) continue;
      delta.conversions = 1;
    } else {
      continue;
    }
    Experiment& e = experiments_[st->ColumnText(4)];
    Arm& arm = e.arms[st->ColumnText(5)];
    arm.clicks += static_cast<int64_t>(delta.clicks);
    arm.conversions += static_cast<int64_t>(delta.conversions);
    const int64_t ts = st->ColumnInt(7);
    if (delta.clicks > 0) ++arm.hourly_counts[ts - ts % kHourMs].second;
    UpdateUser(arm, st->ColumnInt(6), delta);
  }
  return Status::Ok();
}

Status IncrementalReader::ReadShadow(storage::Database& db) {
  ASSIGN_OR_RETURN(auto st, db.Prepare(
      "SELECT request_id, experiment, latency_us, error, timed_out FROM shadow_results WHERE request_id > ? ORDER BY request_id"));
  st->BindInt(1, shadow_cursor_);
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ++rows_read_;
    shadow_cursor_ = st->ColumnInt(0);
    Experiment& e = experiments_[st->ColumnText(1)];
    ++e.shadow.results;
    e.shadow.errors += st->ColumnInt(3) != 0;
    e.shadow.timeouts += st->ColumnInt(4) != 0;
    e.shadow_latency.Add(static_cast<double>(st->ColumnInt(2)) / 1000.0);
  }
  return Status::Ok();
}

Status IncrementalReader::ReadRejected(storage::Database& db, ConsoleSnapshot& out) {
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT id, error FROM rejected_events WHERE id > ? ORDER BY id"));
  st->BindInt(1, rejected_cursor_);
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ++rows_read_;
    rejected_cursor_ = st->ColumnInt(0);
    ++rejected_rows_;
    last_rejected_error_ = st->ColumnText(1);
  }
  out.rejected_events = rejected_rows_;
  out.last_rejected_error = last_rejected_error_;
  return Status::Ok();
}

Status IncrementalReader::ReadAudit(storage::Database& db, ConsoleSnapshot& out) {
  storage::AuditLog log(db);
  chain_.rows_verified_last_refresh = 0;
  if (!chain_opened_) {
    // Once, when the console opens: the whole chain with its anchor.
    ASSIGN_OR_RETURN(storage::AuditVerifyResult v, log.Verify());
    chain_opened_ = true;
    chain_.ok = v.ok;
    chain_.first_bad_seq = v.first_bad_seq;
    chain_.problem = v.problem;
    chain_.anchored_seq = v.anchored_seq;
    chain_.unanchored_reason = v.unanchored_reason;
    chain_.rows_verified_last_refresh = v.rows;
    ASSIGN_OR_RETURN(recent_, log.Recent(static_cast<int>(kRecentAudit)));
    if (v.ok && !recent_.empty()) {
      chain_seq_ = recent_.front().seq;
      chain_hash_ = recent_.front().hash;
      for (const auto& e : recent_) chain_seen_v2_ = chain_seen_v2_ || IsV2(e.hash);
    }
    chain_.verified_through_seq = v.ok ? chain_seq_ : v.first_bad_seq - 1;
    if (v.ok) {
      // Sign-off history: an index lookup per subject would need the subjects; one pass over the
      // chain at open is already paid, so read them here once.
      ASSIGN_OR_RETURN(auto st, db.Prepare(
          "SELECT seq, ts_ms, actor, action, subject, reason, payload, prev_hash, hash FROM audit_log "
          "WHERE action = 'audit.signoff' ORDER BY seq DESC"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        sign_offs_.push_back(ReadEntry(*st));
      }
    }
  } else if (chain_.ok) {
    // The last verified row must still be there, unchanged (its hash, and its contents against it).
    if (chain_seq_ > 0) {
      ASSIGN_OR_RETURN(auto st, db.Prepare(
          "SELECT seq, ts_ms, actor, action, subject, reason, payload, prev_hash, hash FROM audit_log WHERE seq = ?"));
      st->BindInt(1, chain_seq_);
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) {
        chain_.ok = false;
        chain_.first_bad_seq = chain_seq_;
        chain_.problem = "verified rows were deleted (the log was truncated)";
      } else {
        const storage::AuditEntry tip = ReadEntry(*st);
        const std::string computed = IsV2(tip.hash) ? storage::AuditLog::ComputeHash(tip) : storage::AuditLog::ComputeHashV1(tip);
        if (tip.hash != chain_hash_ || computed != tip.hash) {
          chain_.ok = false;
          chain_.first_bad_seq = chain_seq_;
          chain_.problem = "a verified row was edited after it was verified";
        }
      }
    }
    while (chain_.ok) {
      ASSIGN_OR_RETURN(auto rows, log.After(chain_seq_, 1000));
      if (rows.empty()) break;
      for (storage::AuditEntry& e : rows) {
        ++rows_read_;
        ++chain_.rows_verified_last_refresh;
        const std::string problem = storage::AuditLog::CheckChainRow(
            e, chain_seq_ + 1, chain_seq_ == 0 ? std::string(64, '0') : chain_hash_, chain_seen_v2_);
        if (!problem.empty()) {
          chain_.ok = false;
          chain_.first_bad_seq = e.seq;
          chain_.problem = problem;
          break;
        }
        chain_seen_v2_ = chain_seen_v2_ || IsV2(e.hash);
        chain_seq_ = e.seq;
        chain_hash_ = e.hash;
        if (e.action == storage::AuditActionName(storage::AuditAction::kAuditSignOff)) sign_offs_.insert(sign_offs_.begin(), e);
        recent_.insert(recent_.begin(), std::move(e));
        if (recent_.size() > kRecentAudit) recent_.pop_back();
      }
    }
    if (chain_.ok) chain_.verified_through_seq = chain_seq_;
  }
  out.chain = chain_;
  out.recent_audit = recent_;
  out.sign_offs = sign_offs_;
  out.audit_rows = chain_seq_;
  return Status::Ok();
}

void IncrementalReader::FillArms(const std::string& name, ExperimentView& view) {
  auto it = experiments_.find(name);
  if (it == experiments_.end()) return;
  Experiment& e = it->second;
  view.last_exposure_ms = e.last_exposure_ms;
  view.last_new_traffic_wall_ms = e.last_new_traffic_wall_ms;
  view.shadow = e.shadow;
  view.shadow.latency_p99_ms = e.shadow_latency.Percentile(0.99);
  std::vector<std::string> order;
  for (const auto& a : view.config.arms) order.push_back(a.name);
  for (const auto& [arm_name, arm] : e.arms) {
    if (std::find(order.begin(), order.end(), arm_name) == order.end()) order.push_back(arm_name);
  }
  const Arm* control = nullptr;
  if (!view.config.arms.empty()) {
    auto c = e.arms.find(view.config.arms.front().name);
    if (c != e.arms.end()) control = &c->second;
  }
  std::vector<experiment::Metric> primary = view.config.decision.primary_metrics;
  if (primary.empty()) primary = {experiment::Metric::kCtr};
  std::vector<double> users, weights;
  for (const std::string& arm_name : order) {
    ArmStats s;
    s.name = arm_name;
    s.excluded = arm_name == kExcluded;
    auto a = e.arms.find(arm_name);
    if (a != e.arms.end()) {
      const Arm& arm = a->second;
      s.exposures = arm.exposures;
      s.users = static_cast<int64_t>(arm.users.size());
      s.clicks = arm.clicks;
      s.conversions = arm.conversions;
      s.ctr = arm.exposures > 0 ? static_cast<double>(arm.clicks) / static_cast<double>(arm.exposures) : 0.0;
      // Clicks count distinct positions, so a list may click more than once: the Wilson interval is
      // for the share of lists with a click when CTR <= 1; the delta-method interval below is the
      // one the guardrails use.
      const experiment::RatioSums& ctr_sums = arm.sums[static_cast<size_t>(experiment::Metric::kCtr)];
      const double se = std::sqrt(std::max(0.0, experiment::DeltaMethodVariance(ctr_sums)));
      s.ctr_low = s.ctr - 1.96 * se;
      s.ctr_high = s.ctr + 1.96 * se;
      s.latency_p50_ms = arm.latency.Percentile(0.5);
      s.latency_p99_ms = arm.latency.Percentile(0.99);
      std::vector<ArmSeriesPoint>& series = view.series[arm_name];
      for (const auto& [bucket, counts] : arm.hourly_counts) {
        ArmSeriesPoint p;
        p.bucket_start_ms = bucket;
        p.exposures = counts.first;
        p.clicks = counts.second;
        auto h = arm.hourly_latency.find(bucket);
        if (h != arm.hourly_latency.end()) {
          p.latency_p50_ms = h->second.Percentile(0.5);
          p.latency_p99_ms = h->second.Percentile(0.99);
        }
        series.push_back(p);
      }
      if (control && &arm != control && !s.excluded) {
        for (experiment::Metric m : primary) {
          MetricComparison c;
          c.metric = experiment::MetricName(m);
          const auto& ca = control->sums[static_cast<size_t>(m)];
          const auto& cb = arm.sums[static_cast<size_t>(m)];
          auto r = experiment::RatioTest(ca, cb, view.config.decision.alpha);
          if (r.ok() && ca.n > 1 && cb.n > 1) {
            c.defined = true;
            c.control = r->ratio_a;
            c.treatment = r->ratio_b;
            c.rel_lift = r->rel_lift;
            c.rel_low = r->rel_ci_low;
            c.rel_high = r->rel_ci_high;
            c.p_fixed = r->p_value;
            // Always-valid p-value: 1/L of the two-sided mSPRT (experiment/stats.h), with the
            // guardrails' mixing variance (1% of the control rate, squared), minimum over looks.
            const double variance = r->se * r->se;
            const double tau2 = std::max(1e-12, 0.01 * r->ratio_a * r->ratio_a);
            const double l = variance > 0 ? experiment::MsprtLikelihoodRatio(r->diff, variance, tau2) : 1.0;
            double& p = e.p_always_valid[arm_name + "/" + c.metric];
            if (p == 0.0) p = 1.0;
            p = std::min(p, l > 1.0 ? 1.0 / l : 1.0);
            c.p_always_valid = p;
          }
          s.vs_control.push_back(c);
        }
      }
    }
    if (!s.excluded) {
      for (const auto& ac : view.config.arms) {
        if (ac.name == arm_name) {
          users.push_back(static_cast<double>(s.users));
          weights.push_back(ac.weight);
        }
      }
    }
    view.arms.push_back(std::move(s));
  }
  if (users.size() >= 2) {
    auto srm = experiment::SampleRatioMismatch(users, weights);
    if (srm.ok()) {
      view.srm_checked = true;
      view.srm_mismatch = srm->mismatch;
      view.srm_p = srm->p_value;
    }
  }
}

Status IncrementalReader::ReadExperiments(storage::Database& db, ConsoleSnapshot& out) {
  storage::ExperimentStore store(db);
  ASSIGN_OR_RETURN(auto records, store.List());
  serving::RolloutController controller(db, SystemClock::Default());
  ASSIGN_OR_RETURN(out.kill_switch, controller.KillSwitch());
  for (storage::ExperimentRecord& record : records) {
    ExperimentView view;
    view.record = record;
    CachedConfig& cached = configs_[record.name];
    Status why = Status::Ok();
    if (cached.version != record.current_version) {
      auto config = controller.Config(record.name);
      if (config.ok()) {
        cached.config = std::move(config).value();
        cached.version = record.current_version;
      } else {
        why = config.status();
      }
    }
    auto status = controller.Status(record.name);
    if (why.ok() && !status.ok()) why = status.status();
    if (why.ok()) {
      view.config = cached.config;
      view.status = std::move(status).value();
      view.valid = true;
      view.serving_coverage = out.kill_switch ? 0.0 : experiment::ServingCoverage(view.config, view.status);
    } else {
      view.error = why.message();
      view.tampered = why.code() == StatusCode::kDataLoss;
      if (view.tampered && out.chain.ok) {
        out.chain.ok = false;
        out.chain.problem = "experiment '" + record.name + "': " + why.message();
      }
    }
    FillArms(record.name, view);
    out.experiments.push_back(std::move(view));
  }
  return Status::Ok();
}

Status IncrementalReader::Refresh(storage::Database& db, int64_t now_wall_ms, ConsoleSnapshot& out) {
  rows_read_ = 0;
  RETURN_IF_ERROR(ReadExposures(db, now_wall_ms));
  RETURN_IF_ERROR(ReadFeedback(db));
  RETURN_IF_ERROR(ReadShadow(db));
  RETURN_IF_ERROR(ReadRejected(db, out));
  RETURN_IF_ERROR(ReadAudit(db, out));
  RETURN_IF_ERROR(ReadExperiments(db, out));
  out.exposures = exposure_rows_;
  out.feedback = feedback_rows_;
  if (out.chain.ok && out.audit_rows == 0 && (!out.experiments.empty() || out.exposures > 0)) {
    // Experiments or traffic without a single audit row: the log was emptied (or never kept).
    out.chain.ok = false;
    out.chain.problem = "the audit log is empty but the database holds " + std::to_string(out.experiments.size()) +
                        " experiments and " + std::to_string(out.exposures) + " exposures";
  }
  return Status::Ok();
}

}  // namespace steward::console
