#include "console/session.h"

#include <chrono>

namespace steward::console {

Session::Session(std::unique_ptr<DataSource> source, int refresh_ms, std::function<void()> on_change)
    : source_(std::move(source)), refresh_ms_(refresh_ms), on_change_(std::move(on_change)) {
  auto empty = std::make_shared<ConsoleSnapshot>();
  empty->source = source_->name();
  latest_ = std::move(empty);
  poller_ = std::thread([this] { PollLoop(); });
  worker_ = std::thread([this] { WorkLoop(Lane::kActions); });
  reader_ = std::thread([this] { WorkLoop(Lane::kReads); });
}

Session::~Session() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_[0].clear();
    queue_[1].clear();
  }
  cv_.notify_all();
  work_cv_.notify_all();
  poller_.join();
  worker_.join();
  reader_.join();
}

void Session::Notify() {
  if (on_change_) on_change_();
}

std::shared_ptr<const ConsoleSnapshot> Session::snapshot() const {
  std::lock_guard lock(mu_);
  return latest_;
}

void Session::WaitFirstRefresh() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return refreshes_.load() > 0 || stop_; });
}

std::vector<double> Session::refresh_durations() const {
  std::lock_guard lock(mu_);
  return refresh_ms_seen_;
}

void Session::PollLoop() {
  while (true) {
    StatusOr<std::optional<ConsoleSnapshot>> next = source_->Poll();
    const bool changed = !next.ok() || next->has_value();
    if (changed) {
      {
        std::lock_guard lock(mu_);
        if (next.ok()) {
          refresh_ms_seen_.push_back((*next)->refresh_ms);
          latest_ = std::make_shared<ConsoleSnapshot>(std::move(**next));
        } else {
          // Keep showing the last good data, with the error on top.
          auto kept = std::make_shared<ConsoleSnapshot>(*latest_);
          kept->error = next.status().message();
          latest_ = std::move(kept);
        }
        refreshes_.fetch_add(1);
      }
      cv_.notify_all();
      Notify();
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(refresh_ms_), [&] { return stop_; })) return;
  }
}

uint64_t Session::Post(Lane lane, std::string title, std::function<StatusOr<std::string>()> work) {
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    queue_[static_cast<int>(lane)].push_back(Task{id, std::move(title), std::move(work)});
  }
  work_cv_.notify_all();
  return id;
}

void Session::WorkLoop(Lane lane) {
  const int l = static_cast<int>(lane);
  while (true) {
    Task task;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !queue_[l].empty(); });
      if (stop_) return;
      task = std::move(queue_[l].front());
      queue_[l].pop_front();
      running_[l] = task.title;
    }
    StatusOr<std::string> done = task.work();
    {
      std::lock_guard lock(mu_);
      running_[l].clear();
      TaskResult r;
      r.id = task.id;
      r.title = task.title;
      r.status = done.ok() ? Status::Ok() : done.status();
      r.message = done.ok() ? *done : done.status().message();
      results_.push_back(std::move(r));
    }
    work_cv_.notify_all();
    Notify();
  }
}

uint64_t Session::Submit(Action action) {
  std::string title = std::string(ActionName(action.kind)) + (action.experiment.empty() ? "" : " '" + action.experiment + "'");
  const Status allowed = CheckRole(source_->role(), action.kind);
  if (!allowed.ok()) {
    // Refused before anything is queued: the result is there at once.
    std::lock_guard lock(mu_);
    const uint64_t id = next_id_++;
    results_.push_back(TaskResult{id, title, allowed, allowed.message()});
    return id;
  }
  return Post(Lane::kActions, std::move(title), [this, action = std::move(action)]() { return source_->Run(action); });
}

uint64_t Session::RequestAudit(const std::string& experiment) {
  {
    std::lock_guard lock(mu_);
    ++audits_pending_[experiment];
  }
  return Post(Lane::kReads, "audit '" + experiment + "'", [this, experiment]() -> StatusOr<std::string> {
    StatusOr<GovernanceReport> report = source_->Audit(experiment);
    std::lock_guard lock(mu_);
    --audits_pending_[experiment];
    if (!report.ok()) return report.status();
    auto shared = std::make_shared<const GovernanceReport>(std::move(report).value());
    audits_[experiment] = shared;
    return "audit of '" + experiment + "' computed (hash " + shared->hash.substr(0, 12) + "...)";
  });
}

uint64_t Session::RequestSample(const std::string& experiment, int n, uint64_t seed) {
  return Post(Lane::kReads, "review sample '" + experiment + "'", [this, experiment, n, seed]() -> StatusOr<std::string> {
    auto drawn = source_->Sample(experiment, n, seed);
    if (!drawn.ok()) return drawn.status();
    const size_t count = drawn->size();
    std::lock_guard lock(mu_);
    samples_[experiment] = std::make_shared<const std::vector<fairness::ReviewSample>>(std::move(drawn).value());
    return "drew " + std::to_string(count) + " lists of '" + experiment + "' for review";
  });
}

uint64_t Session::RequestValidation(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    validations_.erase(path);
  }
  return Post(Lane::kReads, "validate " + path, [this, path]() -> StatusOr<std::string> {
    StatusOr<std::string> checked = source_->Validate(path);
    std::lock_guard lock(mu_);
    validations_.insert_or_assign(path, checked);
    return checked;
  });
}

std::optional<StatusOr<std::string>> Session::validation(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = validations_.find(path);
  if (it == validations_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const GovernanceReport> Session::audit(const std::string& experiment) const {
  std::lock_guard lock(mu_);
  auto it = audits_.find(experiment);
  return it == audits_.end() ? nullptr : it->second;
}

std::shared_ptr<const std::vector<fairness::ReviewSample>> Session::sample(const std::string& experiment) const {
  std::lock_guard lock(mu_);
  auto it = samples_.find(experiment);
  return it == samples_.end() ? nullptr : it->second;
}

std::vector<TaskResult> Session::TakeResults() {
  std::lock_guard lock(mu_);
  std::vector<TaskResult> out;
  out.swap(results_);
  return out;
}

std::string Session::busy() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (int l = 0; l < 2; ++l) {
    const std::string title = !running_[l].empty() ? running_[l] : queue_[l].empty() ? std::string() : queue_[l].front().title;
    if (!title.empty()) out += (out.empty() ? "" : ", ") + title;
  }
  return out;
}

bool Session::audit_pending(const std::string& experiment) const {
  std::lock_guard lock(mu_);
  auto it = audits_pending_.find(experiment);
  return it != audits_pending_.end() && it->second > 0;
}

void Session::WaitIdle() {
  std::unique_lock lock(mu_);
  work_cv_.wait(lock, [&] {
    return stop_ || (queue_[0].empty() && queue_[1].empty() && running_[0].empty() && running_[1].empty());
  });
}

}  // namespace steward::console
