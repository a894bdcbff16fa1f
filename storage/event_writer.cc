#include "storage/event_writer.h"

#include <chrono>

#include <nlohmann/json.hpp>
#include <tuple>

#include "common/log.h"
#include "storage/json.h"
#include "storage/statement.h"

namespace steward::storage {
namespace {

std::string ServedJson(const std::vector<ServedItem>& served) {
  std::string out = "[";
  char buf[64];
  for (size_t i = 0; i < served.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s[%lld,%.17g]", i ? "," : "", static_cast<long long>(served[i].item_id),
                  served[i].propensity);
    out += buf;
  }
  out += "]";
  return out;
}

std::string IdsJson(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(ids[i]);
  }
  out += "]";
  return out;
}

// The request id, kind and a JSON payload of an event, for rejected_events.
std::tuple<int64_t, std::string, std::string> Describe(const Event& event) {
  if (const auto* sh = std::get_if<ShadowOutcome>(&event)) return {sh->request_id, "shadow_result", ShadowOutcomeJson(*sh)};
  if (const auto* f = std::get_if<Feedback>(&event)) return {f->request_id, "feedback", FeedbackJson(*f)};
  const auto& e = std::get<Exposure>(event);
  return {e.request_id, "exposure", ExposureJson(e)};
}

}  // namespace

StatusOr<std::unique_ptr<EventWriter>> EventWriter::Start(const std::string& path, EventWriterOptions options) {
  DatabaseOptions db_options;
  db_options.sync = options.sync;
  ASSIGN_OR_RETURN(auto db, Database::Open(path, db_options));
  std::unique_ptr<EventWriter> writer(new EventWriter(std::move(db), std::move(options)));
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

EventWriter::EventWriter(std::unique_ptr<Database> db, EventWriterOptions options)
    : db_(std::move(db)), options_(std::move(options)) {
  if (options_.queue_capacity == 0) options_.queue_capacity = 1;
  queue_.reserve(options_.queue_capacity);
}

EventWriter::~EventWriter() {
  Status s = Close();
  if (!s.ok()) STEWARD_LOG(kError) << "event writer closed with error: " << s.ToString();
}

StatusOr<uint64_t> EventWriter::Enqueue(std::vector<Event>& events, bool block) {
  std::unique_lock lock(mu_);
  if (stopping_) return FailedPrecondition("event writer is closed");
  if (!failure_.ok()) return FailedPrecondition("event writer failed: " + failure_.message());
  // A batch larger than the whole queue is admitted once the queue is empty.
  const size_t need = std::min(events.size(), options_.queue_capacity);
  if (queue_.size() + need > options_.queue_capacity) {
    if (!block) return Unavailable("event queue is full; retry later or use Submit() to wait");
    ++stats_.producer_waits;
    not_full_.wait(lock, [&] {
      return stopping_ || !failure_.ok() || queue_.size() + need <= options_.queue_capacity;
    });
    if (stopping_) return FailedPrecondition("event writer is closed");
    if (!failure_.ok()) return FailedPrecondition("event writer failed: " + failure_.message());
  }
  for (Event& e : events) queue_.push_back(std::move(e));
  submitted_ += events.size();
  stats_.submitted = submitted_;
  const uint64_t seq = submitted_;
  if (writer_waiting_) not_empty_.notify_one();
  return seq;
}

StatusOr<uint64_t> EventWriter::Submit(Event event) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  return Enqueue(one, /*block=*/true);
}

StatusOr<uint64_t> EventWriter::SubmitBatch(std::vector<Event> events) { return Enqueue(events, /*block=*/true); }

StatusOr<uint64_t> EventWriter::TrySubmit(Event event) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  return Enqueue(one, /*block=*/false);
}

Status EventWriter::WaitCommitted(uint64_t seq) {
  std::unique_lock lock(mu_);
  committed_cv_.wait(lock, [&] { return committed_.load() >= seq || !failure_.ok() || !thread_.joinable(); });
  if (committed_.load() >= seq) return Status::Ok();
  if (!failure_.ok()) return FailedPrecondition("event writer failed: " + failure_.message());
  return FailedPrecondition("event writer stopped before sequence " + std::to_string(seq) + " was committed");
}

Status EventWriter::Flush() {
  uint64_t target;
  {
    std::lock_guard lock(mu_);
    target = submitted_;
  }
  return WaitCommitted(target);
}

Status EventWriter::Close() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return failure_;
    stopping_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  thread_.join();
  committed_cv_.notify_all();
  std::lock_guard lock(mu_);
  return failure_;
}

EventWriterStats EventWriter::stats() const {
  std::lock_guard lock(mu_);
  EventWriterStats s = stats_;
  s.committed = committed_.load();
  s.queue_depth = queue_.size();
  s.failed = !failure_.ok();
  s.queue_capacity = options_.queue_capacity;
  return s;
}

void EventWriter::Run() {
  std::vector<Event> batch;
  batch.reserve(options_.queue_capacity);
  while (true) {
    {
      std::unique_lock lock(mu_);
      writer_waiting_ = true;
      not_empty_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      writer_waiting_ = false;
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
      queue_.clear();
    }
    not_full_.notify_all();
    const auto started = std::chrono::steady_clock::now();
    Status s = WriteBatch(batch);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
      std::lock_guard lock(mu_);
      for (size_t b = 0; b < EventWriterStats::kCommitBuckets; ++b) {
        if (seconds <= EventWriterStats::kCommitBucketsSeconds[b]) ++stats_.commit_le[b];
      }
      stats_.commit_seconds_sum += seconds;
      if (!s.ok()) {
        failure_ = s;
        STEWARD_LOG(kError) << "event writer stopped: " << s.ToString();
      } else {
        committed_.fetch_add(batch.size(), std::memory_order_release);
        ++stats_.batches;
        stats_.max_batch = std::max(stats_.max_batch, batch.size());
      }
    }
    committed_cv_.notify_all();
    if (!s.ok()) {
      not_full_.notify_all();
      return;
    }
    if (options_.on_commit) options_.on_commit(committed_.load(), batch.size());
    batch.clear();
  }
}

Status EventWriter::WriteBatch(const std::vector<Event>& batch) {
  static constexpr const char* kInsertExposure =
      "INSERT INTO exposures (request_id, ts_ms, user_id, experiment, arm, served, shadow, model_version, "
      "shadow_model_version, latency_us, shadow_latency_us, user_key, attributes, safety, evidence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  static constexpr const char* kInsertFeedback =
      "INSERT INTO feedback (request_id, ts_ms, user_id, item_id, position, kind, value) VALUES (?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(auto exposure_stmt, db_->Prepare(kInsertExposure));
  ASSIGN_OR_RETURN(auto feedback_stmt, db_->Prepare(kInsertFeedback));
  ASSIGN_OR_RETURN(auto shadow_stmt, db_->Prepare(
      "INSERT INTO shadow_results (request_id, experiment, model_version, items, latency_us, error, timed_out) "
      "VALUES (?,?,?,?,?,?,?)"));
  ASSIGN_OR_RETURN(auto rejected_stmt, db_->Prepare("INSERT INTO rejected_events (request_id, kind, payload, error) VALUES (?,?,?,?)"));
  uint64_t rejected = 0;
  RETURN_IF_ERROR(db_->InTransaction(
      [&]() -> Status { return InsertAll(batch, *exposure_stmt, *feedback_stmt, *shadow_stmt, *rejected_stmt, rejected); }));
  if (rejected) {
    std::lock_guard lock(mu_);
    stats_.rejected += rejected;
  }
  return Status::Ok();
}

Status EventWriter::InsertAll(const std::vector<Event>& batch, Statement& exposure_stmt, Statement& feedback_stmt,
                              Statement& shadow_stmt, Statement& rejected_stmt, uint64_t& rejected) {
  for (const Event& event : batch) {
    Status s;
    if (const auto* sh = std::get_if<ShadowOutcome>(&event)) {
      shadow_stmt.BindInt(1, sh->request_id);
      shadow_stmt.BindText(2, sh->experiment);
      shadow_stmt.BindText(3, sh->model_version);
      shadow_stmt.BindText(4, IdsJson(sh->items));
      shadow_stmt.BindInt(5, sh->latency_us);
      shadow_stmt.BindInt(6, sh->error ? 1 : 0);
      shadow_stmt.BindInt(7, sh->timed_out ? 1 : 0);
      s = shadow_stmt.Run();
      if (!s.ok()) s = s.WithContext("shadow result for request_id " + std::to_string(sh->request_id));
    } else if (const auto* f = std::get_if<Feedback>(&event)) {
      Statement& st = feedback_stmt;
      st.BindInt(1, f->request_id);
      st.BindInt(2, f->ts_ms);
      st.BindInt(3, f->user_id);
      st.BindInt(4, f->item_id);
      st.BindInt(5, f->position);
      st.BindInt(6, static_cast<int64_t>(f->kind));
      st.BindDouble(7, f->value);
      s = st.Run();
    } else {
      const auto& e = std::get<Exposure>(event);
      Statement& st = exposure_stmt;
      st.BindInt(1, e.request_id);
      st.BindInt(2, e.ts_ms);
      st.BindInt(3, e.user_id);
      st.BindText(4, e.experiment);
      st.BindText(5, e.arm);
      st.BindText(6, ServedJson(e.served));
      if (e.shadow_model_version.empty()) {
        st.BindNull(7);
        st.BindNull(9);
        st.BindNull(11);
      } else {
        st.BindText(7, IdsJson(e.shadow_items));
        st.BindText(9, e.shadow_model_version);
        st.BindInt(11, e.shadow_latency_us);
      }
      st.BindText(8, e.model_version);
      st.BindInt(10, e.latency_us);
      if (e.user_key.empty()) {
        st.BindNull(12);
      } else {
        st.BindText(12, e.user_key);
      }
      if (e.attributes.empty()) {
        st.BindNull(13);
      } else {
        st.BindText(13, e.attributes);
      }
      if (e.safety.empty()) {
        st.BindNull(14);
      } else {
        st.BindText(14, e.safety);
      }
      if (e.evidence.empty()) {
        st.BindNull(15);
      } else {
        st.BindText(15, e.evidence);
      }
      s = st.Run();
      if (!s.ok()) s = s.WithContext("exposure request_id " + std::to_string(e.request_id));
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      // A constraint aborts only this statement; the transaction and the batch go on.
      const auto [request_id, kind, payload] = Describe(event);
      rejected_stmt.BindInt(1, request_id);
      rejected_stmt.BindText(2, kind);
      rejected_stmt.BindText(3, payload);
      rejected_stmt.BindText(4, s.message());
      RETURN_IF_ERROR(rejected_stmt.Run());
      STEWARD_LOG(kWarn) << "event writer: rejected " << kind << " (kept in rejected_events): " << s.message();
      ++rejected;
      continue;
    }
    RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

}  // namespace steward::storage
