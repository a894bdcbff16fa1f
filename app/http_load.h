// `steward bench http`: a load generator against a running `steward serve` (or any HTTP server),
// one blocking keep-alive server::HttpClient per connection thread.
//
// RunHttpLoad is open loop: request i is due at start + i / rate whatever happened to the earlier
// ones; a free connection takes the next request, waits for its due time and sends it. Latency is
// measured from the due time, not from the send, so a server that falls behind is charged for the
// queueing it causes (no coordinated omission). When all connections are busy, requests wait and
// their latency grows; the achieved rate then falls below the offered one.
//
// RunHttpIngest is closed loop: each connection sends NDJSON batches of external exposures
// (`{"type":"exposure", ...}`, unique request ids counting up from `first_request_id`) to
// /v1/events for the duration, the next batch as soon as the previous one is acknowledged. A 503
// (writer queue full) is counted and the same batch is sent again after Retry-After seconds (capped
// by the time left), as the API asks clients to do.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace steward::app {

struct HttpLoadOptions {
  std::string url;    // "http://HOST:PORT". Required
  std::string token;  // bearer token ("" sends none). Default: ""
  std::string path = "/v1/recommend";  // request target (open-loop mode). Default: /v1/recommend
  // The request body: when non-empty every request sends it; when empty a body is generated per
  // request: {"experiment", "user_id": "u<n>"} with n drawn from [0, users) by seed and request
  // index, plus "attributes" and "k": 10 when `path` is /v1/recommend.
  std::string body;
  std::string experiment = "homepage-recs";  // experiment named by generated bodies and exposures
  int64_t users = 100000;                    // distinct generated user ids. Default: 100,000
  double rate = 500;                         // offered requests per second. Default: 500
  double duration_s = 10;                    // seconds of schedule (or of ingest). Default: 10
  int connections = 16;                      // connections, one thread each. Default: 16
  uint64_t seed = 1;
  int64_t timeout_ms = 10000;  // per request (connect, write, read). Default: 10 s
  // Ingest mode.
  int64_t batch_lines = 10000;                      // exposures per /v1/events request. Default: 10,000
  int64_t first_request_id = 1'000'000'000'000;     // first exposure request id. Default: 1e12
  int items_per_event = 2;                          // catalog items per exposure, ids 1..10000. Default: 2
  std::string arms = "control,treatment";           // arm names, comma separated, used in turn
  bool progress = true;                             // one line a second on stderr
  const std::atomic<bool>* stop = nullptr;          // when it turns true the run ends early
};

struct HttpLoadResult {
  double rate_offered = 0;
  double rate_achieved = 0;  // 2xx responses per second from the first due time to the last response
  int64_t requests = 0;      // requests sent (fewer than scheduled only when stopped early)
  int64_t errors = 0;        // non-2xx responses and transport failures
  int64_t transport_errors = 0;
  std::map<int, int64_t> status_counts;  // HTTP status -> responses
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;  // over 2xx responses, from the due time
  double seconds = 0;
  std::string first_error;  // "" when none
};

StatusOr<HttpLoadResult> RunHttpLoad(const HttpLoadOptions& options);

struct HttpIngestResult {
  int64_t events_accepted = 0;  // lines counted in "accepted" of 200 responses
  int64_t lines_sent = 0;       // lines of batches answered 200
  int64_t lines_rejected = 0;   // lines listed in "rejected" of 200 responses
  int64_t batches = 0;          // batches answered 200
  int64_t status_503 = 0;       // batches answered 503 (then retried)
  int64_t errors = 0;           // other statuses and transport failures
  double seconds = 0;           // from the start to the last acknowledgement
  double events_per_sec = 0;    // events_accepted / seconds
  double batch_p50_ms = 0, batch_p99_ms = 0;  // send-to-acknowledgement time of a 200 batch
  std::string first_error;
};

StatusOr<HttpIngestResult> RunHttpIngest(const HttpLoadOptions& options);

}  // namespace steward::app
