// ShadowRunner: runs the shadow model off the serving path. The serving thread hands it a copy of
// exactly what the served model saw (request, history, time) and returns at once; one worker
// thread per runner computes the shadow list and hands the result to a callback (the EventWriter).
// Feedback for the shadow model travels through the same queue, so the model is only ever touched
// by the worker (no locks shared with serving).
//
// When the bounded queue is full, new work is dropped and counted: the served response is never
// delayed. A submit wakes the worker only once kWakeBatch tasks are queued (a wake-up is a system
// call on the serving thread); an idle worker otherwise looks for work every kIdlePoll. A shadow model that throws is counted as an error; one slower than `timeout_us` has its
// result discarded and counted as a timeout. Neither affects serving.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "models/recommender.h"

namespace steward::shadow {

struct ShadowResult {
  int64_t request_id = 0;
  std::vector<int32_t> items;  // catalog indices, position order
  int64_t latency_us = 0;
  bool error = false;
  bool timed_out = false;
  std::string model_version;
};

struct ShadowRunnerOptions {
  size_t queue_capacity = 4096;  // Default: 4096 tasks
  int64_t timeout_us = 50'000;   // Default: 50 ms
};

struct ShadowStats {
  uint64_t submitted = 0, completed = 0, dropped = 0, errors = 0, timeouts = 0;
};

class ShadowRunner {
 public:
  ShadowRunner(std::unique_ptr<models::Recommender> model, ShadowRunnerOptions options,
               std::function<void(ShadowResult)> on_result);
  ~ShadowRunner();  // drains the queue, then stops

  // Both return false (and count a drop) when the queue is full. Never block.
  bool SubmitRequest(const models::RecommendRequest& request);
  bool SubmitFeedback(const models::FeedbackSignal& signal);
  // The served list's outcome (items and clicks), for models that learn from whole lists (bandits).
  bool SubmitListFeedback(const models::ListFeedback& feedback);
  // Waits until the queue is empty (end of a run, tests).
  void Drain();
  ShadowStats stats() const;
  std::string model_version() const { return version_; }

 private:
  struct Task {
    enum class Kind { kRequest, kFeedback, kList } kind = Kind::kRequest;
    models::RecommendRequest request;
    models::FeedbackSignal feedback;
    models::ListFeedback list;
    std::vector<int32_t> history;  // owned copy behind the spans (a list's items for kList)
    std::vector<char> clicked;     // kList
    std::vector<std::pair<std::string, std::string>> attributes;  // owned copy behind request.attributes
  };
  bool Enqueue(Task task);
  static constexpr size_t kWakeBatch = 64;  // tasks queued before a submit wakes the worker
  static constexpr std::chrono::microseconds kIdlePoll{500};  // the idle worker's wait
  void Run();

  std::unique_ptr<models::Recommender> model_;
  ShadowRunnerOptions options_;
  std::function<void(ShadowResult)> on_result_;
  std::string version_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Task> queue_;
  bool stop_ = false, busy_ = false;
  ShadowStats stats_;
  std::thread worker_;
};

}  // namespace steward::shadow
