#include "app/http_load.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <strings.h>
#include <thread>
#include <vector>

#include "common/percentile.h"
#include "common/rng.h"
#include "server/client.h"

namespace steward::app {
namespace {

using Clock = std::chrono::steady_clock;

Status CheckCommon(const HttpLoadOptions& o) {
  if (o.url.empty()) return InvalidArgument("--url: required");
  if (o.connections < 1 || o.connections > 1024) return InvalidArgument("--connections: must be 1 to 1024");
  if (!(o.duration_s > 0) || o.duration_s > 3600) return InvalidArgument("--duration: must be in (0, 3600] seconds");
  if (o.timeout_ms < 1) return InvalidArgument("timeout: must be positive");
  return Status::Ok();
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// {"experiment": E, "user_id": "u<n>"} (+ attributes and k for /v1/recommend), n fixed by seed and index.
std::string GeneratedBody(const HttpLoadOptions& o, const std::string& experiment_json, bool recommend, int64_t index) {
  const uint64_t n = Mix64(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index)) % static_cast<uint64_t>(o.users);
  std::string b = "{\"experiment\":" + experiment_json + ",\"user_id\":\"u";
  AppendInt(b, static_cast<int64_t>(n));
  b += '"';
  if (recommend) {
    b += ",\"attributes\":{\"age_band\":\"";
    AppendInt(b, static_cast<int64_t>(n % 5));
    b += "\",\"user_type\":\"";
    b += (n % 3 == 0) ? "new" : "returning";
    b += "\"},\"k\":10";
  }
  b += '}';
  return b;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Prints one line a second on stderr until stopped.
class Progress {
 public:
  template <typename Fn>
  Progress(bool on, Fn line) {
    if (!on) return;
    thread_ = std::thread([this, line] {
      const auto start = Clock::now();
      std::unique_lock lock(mu_);
      for (int s = 1;; ++s) {
        if (cv_.wait_until(lock, start + std::chrono::seconds(s), [this] { return done_; })) return;
        std::fprintf(stderr, "%s\n", line(s).c_str());
      }
    });
  }
  ~Progress() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

bool Stopped(const HttpLoadOptions& o) { return o.stop && o.stop->load(std::memory_order_relaxed); }

std::string Describe(const server::HttpResponse& r) {
  std::string body = r.body.substr(0, 300);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return "HTTP " + std::to_string(r.status) + ": " + body;
}

}  // namespace

StatusOr<HttpLoadResult> RunHttpLoad(const HttpLoadOptions& o) {
  RETURN_IF_ERROR(CheckCommon(o));
  if (!(o.rate > 0) || o.rate > 1e6) return InvalidArgument("--rate: must be in (0, 1000000] requests per second");
  if (o.users < 1) return InvalidArgument("--users: must be at least 1");
  if (o.path.empty() || o.path.front() != '/') return InvalidArgument("--path: must start with '/', got '" + o.path + "'");
  const int64_t total = std::max<int64_t>(1, std::llround(o.rate * o.duration_s));
  const bool recommend = o.path.rfind("/v1/recommend", 0) == 0;
  const std::string experiment_json = nlohmann::json(o.experiment).dump();

  // Connect every connection before the schedule starts (GET /healthz, not timed), so connection
  // setup is not charged to the first requests and an unreachable server fails at once.
  std::vector<std::unique_ptr<server::HttpClient>> clients;
  for (int c = 0; c < o.connections; ++c) {
    ASSIGN_OR_RETURN(auto client, server::HttpClient::Create(o.url, o.token, o.timeout_ms));
    ASSIGN_OR_RETURN(auto warm, client->Send("GET", "/healthz", "", ""));
    (void)warm;  // any status: only the connection matters
    clients.push_back(std::move(client));
  }

  struct PerThread {
    std::vector<double> ms;
    std::map<int, int64_t> statuses;
    int64_t sent = 0, errors = 0, transport = 0;
    Clock::time_point last_done{};
    std::string first_error;
  };
  std::vector<PerThread> per(static_cast<size_t>(o.connections));
  std::atomic<int64_t> next{0}, sent{0}, ok{0}, failed{0};
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  const auto start = Clock::now() + std::chrono::milliseconds(20);  // every thread started by then

  Progress progress(o.progress, [&](int s) {
    char line[160];
    std::snprintf(line, sizeof line, "bench http: %d s, %lld sent, %lld ok, %lld errors (of %lld scheduled)", s,
                  static_cast<long long>(sent.load()), static_cast<long long>(ok.load()), static_cast<long long>(failed.load()),
                  static_cast<long long>(total));
    return std::string(line);
  });

  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      PerThread local;  // thread-local until the end (no false sharing)
      local.ms.reserve(static_cast<size_t>(total / o.connections + 16));
      server::HttpClient& client = *clients[static_cast<size_t>(c)];
      for (;;) {
        const int64_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= total) break;
        const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
        std::this_thread::sleep_until(due);
        if (Stopped(o)) break;
        const std::string body = o.body.empty() ? GeneratedBody(o, experiment_json, recommend, i) : o.body;
        ++local.sent;
        sent.fetch_add(1, std::memory_order_relaxed);
        auto r = client.Send("POST", o.path, body, "application/json");
        const auto done = Clock::now();
        local.last_done = done;
        if (!r.ok()) {
          ++local.errors;
          ++local.transport;
          failed.fetch_add(1, std::memory_order_relaxed);
          if (local.first_error.empty()) local.first_error = r.status().ToString();
          continue;
        }
        ++local.statuses[r->status];
        if (r->status >= 200 && r->status < 300) {
          local.ms.push_back(Ms(done - due));
          ok.fetch_add(1, std::memory_order_relaxed);
        } else {
          ++local.errors;
          failed.fetch_add(1, std::memory_order_relaxed);
          if (local.first_error.empty()) local.first_error = Describe(*r);
        }
      }
      per[static_cast<size_t>(c)] = std::move(local);
    });
  }
  for (auto& t : threads) t.join();
  progress.Stop();

  HttpLoadResult out;
  out.rate_offered = o.rate;
  std::vector<double> ms;
  Clock::time_point last = start;
  for (auto& p : per) {
    ms.insert(ms.end(), p.ms.begin(), p.ms.end());
    for (const auto& [code, n] : p.statuses) out.status_counts[code] += n;
    out.requests += p.sent;
    out.errors += p.errors;
    out.transport_errors += p.transport;
    last = std::max(last, p.last_done);
    if (out.first_error.empty()) out.first_error = p.first_error;
  }
  out.seconds = std::chrono::duration<double>(last - start).count();
  out.rate_achieved = out.seconds > 0 ? static_cast<double>(ms.size()) / out.seconds : 0.0;
  out.p50_ms = Percentile(ms, 0.50);
  out.p95_ms = Percentile(ms, 0.95);
  out.p99_ms = Percentile(ms, 0.99);
  out.max_ms = ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end());
  return out;
}

StatusOr<HttpIngestResult> RunHttpIngest(const HttpLoadOptions& o) {
  RETURN_IF_ERROR(CheckCommon(o));
  if (o.batch_lines < 1 || o.batch_lines > 1'000'000) return InvalidArgument("--batch-lines: must be 1 to 1000000");
  if (o.first_request_id < 1) return InvalidArgument("--first-request-id: must be positive");
  if (o.items_per_event < 0 || o.items_per_event > 100) return InvalidArgument("--items-per-event: must be 0 to 100");
  if (o.users < 1) return InvalidArgument("--users: must be at least 1");
  std::vector<std::string> arms;
  for (size_t pos = 0; pos <= o.arms.size();) {
    const size_t comma = std::min(o.arms.find(',', pos), o.arms.size());
    if (comma > pos) arms.push_back(nlohmann::json(o.arms.substr(pos, comma - pos)).dump());
    pos = comma + 1;
  }
  if (arms.empty()) return InvalidArgument("--arms: at least one arm name");
  const std::string experiment_json = nlohmann::json(o.experiment).dump();

  std::vector<std::unique_ptr<server::HttpClient>> clients;
  for (int c = 0; c < o.connections; ++c) {
    ASSIGN_OR_RETURN(auto client, server::HttpClient::Create(o.url, o.token, o.timeout_ms));
    ASSIGN_OR_RETURN(auto warm, client->Send("GET", "/healthz", "", ""));
    (void)warm;
    clients.push_back(std::move(client));
  }

  struct PerThread {
    int64_t accepted = 0, lines = 0, rejected = 0, batches = 0, unavailable = 0, errors = 0;
    std::vector<double> ms;
    Clock::time_point last_done{};
    std::string first_error;
  };
  std::vector<PerThread> per(static_cast<size_t>(o.connections));
  std::atomic<int64_t> next_id{o.first_request_id}, accepted{0}, busy{0}, failed{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));

  Progress progress(o.progress, [&](int s) {
    char line[160];
    const double rate = static_cast<double>(accepted.load()) / s;
    std::snprintf(line, sizeof line, "bench http --events: %d s, %lld events acknowledged (%.0f/s), %lld x 503, %lld errors", s,
                  static_cast<long long>(accepted.load()), rate, static_cast<long long>(busy.load()),
                  static_cast<long long>(failed.load()));
    return std::string(line);
  });

  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      PerThread local;
      server::HttpClient& client = *clients[static_cast<size_t>(c)];
      std::string body;
      while (Clock::now() < deadline && !Stopped(o)) {
        // One batch: batch_lines exposures with fresh request ids.
        const int64_t first = next_id.fetch_add(o.batch_lines, std::memory_order_relaxed);
        body.clear();
        body.reserve(static_cast<size_t>(o.batch_lines) * (120 + 16 * static_cast<size_t>(o.items_per_event)));
        for (int64_t id = first; id < first + o.batch_lines; ++id) {
          const uint64_t h = Mix64(o.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(id));
          body += "{\"type\":\"exposure\",\"request_id\":";
          AppendInt(body, id);
          body += ",\"user_id\":\"u";
          AppendInt(body, static_cast<int64_t>(h % static_cast<uint64_t>(o.users)));
          body += "\",\"experiment\":";
          body += experiment_json;
          body += ",\"arm\":";
          body += arms[static_cast<size_t>(id) % arms.size()];
          body += ",\"items\":[";
          for (int k = 0; k < o.items_per_event; ++k) {
            if (k) body += ',';
            body += "{\"item_id\":";
            AppendInt(body, static_cast<int64_t>((Mix64(h + static_cast<uint64_t>(k)) % 10000) + 1));
            body += '}';
          }
          body += "]}\n";
        }
        for (;;) {  // send; on 503 the same batch again after Retry-After
          const auto sent_at = Clock::now();
          auto r = client.Send("POST", "/v1/events", body, "application/x-ndjson");
          const auto done = Clock::now();
          local.last_done = done;
          if (!r.ok()) {
            ++local.errors;
            failed.fetch_add(1, std::memory_order_relaxed);
            if (local.first_error.empty()) local.first_error = r.status().ToString();
            break;
          }
          if (r->status == 200) {
            int64_t n = 0, bad = 0;
            auto j = nlohmann::json::parse(r->body, nullptr, false);
            if (j.is_object() && j.contains("accepted") && j["accepted"].is_number_integer()) n = j["accepted"].get<int64_t>();
            if (j.is_object() && j.contains("rejected") && j["rejected"].is_array()) {
              bad = static_cast<int64_t>(j["rejected"].size());
              if (bad > 0 && local.first_error.empty()) local.first_error = "rejected line: " + j["rejected"][0].dump();
            }
            local.accepted += n;
            local.rejected += bad;
            local.lines += o.batch_lines;
            ++local.batches;
            local.ms.push_back(Ms(done - sent_at));
            accepted.fetch_add(n, std::memory_order_relaxed);
            break;
          }
          if (r->status == 503) {
            ++local.unavailable;
            busy.fetch_add(1, std::memory_order_relaxed);
            double wait_s = 1.0;
            for (const auto& [name, value] : r->headers) {
              if (strcasecmp(name.c_str(), "Retry-After") == 0) wait_s = std::clamp(std::atof(value.c_str()), 0.0, 60.0);
            }
            const auto resume = std::min<Clock::time_point>(
                deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s)));
            std::this_thread::sleep_until(resume);
            if (Clock::now() >= deadline || Stopped(o)) break;
            continue;
          }
          ++local.errors;
          failed.fetch_add(1, std::memory_order_relaxed);
          if (local.first_error.empty()) local.first_error = Describe(*r);
          break;
        }
      }
      per[static_cast<size_t>(c)] = std::move(local);
    });
  }
  for (auto& t : threads) t.join();
  progress.Stop();

  HttpIngestResult out;
  std::vector<double> ms;
  Clock::time_point last = start;
  for (auto& p : per) {
    out.events_accepted += p.accepted;
    out.lines_sent += p.lines;
    out.lines_rejected += p.rejected;
    out.batches += p.batches;
    out.status_503 += p.unavailable;
    out.errors += p.errors;
    ms.insert(ms.end(), p.ms.begin(), p.ms.end());
    last = std::max(last, p.last_done);
    if (out.first_error.empty()) out.first_error = p.first_error;
  }
  out.seconds = std::chrono::duration<double>(last - start).count();
  out.events_per_sec = out.seconds > 0 ? static_cast<double>(out.events_accepted) / out.seconds : 0.0;
  out.batch_p50_ms = Percentile(ms, 0.50);
  out.batch_p99_ms = Percentile(ms, 0.99);
  return out;
}

}  // namespace steward::app
