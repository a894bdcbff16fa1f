#include "shadow/runner.h"

#include <chrono>
#include <exception>

namespace steward::shadow {

ShadowRunner::ShadowRunner(std::unique_ptr<models::Recommender> model, ShadowRunnerOptions options,
                           std::function<void(ShadowResult)> on_result)
    : model_(std::move(model)), options_(options), on_result_(std::move(on_result)), version_(model_->version()) {
  worker_ = std::thread([this] { Run(); });
}

ShadowRunner::~ShadowRunner() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

bool ShadowRunner::Enqueue(Task task) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    ++stats_.submitted;
    if (queue_.size() >= options_.queue_capacity) {
      ++stats_.dropped;
      return false;
    }
    queue_.push_back(std::move(task));
    // Waking the worker is a system call on the serving thread: do it only once a batch has
    // queued up; otherwise the worker's own short timed wait picks the work up (shadow results
    // are not latency-critical; serving is).
    wake = queue_.size() >= kWakeBatch;
  }
  if (wake) cv_.notify_one();
  return true;
}

bool ShadowRunner::SubmitRequest(const models::RecommendRequest& request) {
  Task t;
  t.kind = Task::Kind::kRequest;
  t.request = request;
  t.history.assign(request.history.begin(), request.history.end());
  t.attributes.assign(request.attributes.begin(), request.attributes.end());
  t.request.decisions = nullptr;  // the serving thread's; the shadow side records none
  t.request.decisions_dropped = nullptr;
  return Enqueue(std::move(t));
}

bool ShadowRunner::SubmitFeedback(const models::FeedbackSignal& signal) {
  Task t;
  t.kind = Task::Kind::kFeedback;
  t.feedback = signal;
  t.history.assign(signal.history.begin(), signal.history.end());
  return Enqueue(std::move(t));
}

bool ShadowRunner::SubmitListFeedback(const models::ListFeedback& feedback) {
  Task t;
  t.kind = Task::Kind::kList;
  t.list = feedback;
  t.history.assign(feedback.items.begin(), feedback.items.end());
  t.clicked.assign(feedback.clicked.begin(), feedback.clicked.end());
  return Enqueue(std::move(t));
}

void ShadowRunner::Drain() {
  cv_.notify_one();
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

ShadowStats ShadowRunner::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void ShadowRunner::Run() {
  while (true) {
    Task task;
    {
      std::unique_lock lock(mu_);
      while (!stop_ && queue_.empty()) cv_.wait_for(lock, kIdlePoll);
      if (queue_.empty()) return;  // stop_ and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    if (task.kind == Task::Kind::kRequest) {
      task.request.history = task.history;
      task.request.attributes = task.attributes;
      ShadowResult result;
      result.request_id = task.request.request_id;
      result.model_version = version_;
      // The model's event-time tick (scheduled retrains swap in here) is outside the timed region:
      // in accelerated simulation a tick may wait for a retrain that real time would have long
      // finished, which is not serving latency. An exception from it counts as an error.
      try {
        model_->AdvanceTo(task.request.ts_ms);
      } catch (const std::exception&) {
        result.error = true;
      }
      const auto t0 = std::chrono::steady_clock::now();
      try {
        if (!result.error) {
          for (const auto& s : model_->Recommend(task.request).items) result.items.push_back(s.item);
          result.model_version = model_->version();  // models that retrain change version while shadowing
        }
      } catch (const std::exception&) {
        result.error = true;
        result.items.clear();
      }
      result.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      result.timed_out = !result.error && result.latency_us > options_.timeout_us;
      if (result.timed_out) result.items.clear();
      {
        std::lock_guard lock(mu_);
        ++stats_.completed;
        stats_.errors += result.error ? 1 : 0;
        stats_.timeouts += result.timed_out ? 1 : 0;
      }
      if (on_result_) on_result_(std::move(result));
    } else {
      try {
        if (task.kind == Task::Kind::kFeedback) {
          task.feedback.history = task.history;
          model_->Observe(task.feedback);
        } else {
          task.list.items = task.history;
          task.list.clicked = task.clicked;
          model_->ObserveList(task.list);
        }
      } catch (const std::exception&) {
        std::lock_guard lock(mu_);
        ++stats_.errors;
      }
    }
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }
}

}  // namespace steward::shadow
