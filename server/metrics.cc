#include "server/metrics.h"

#include <cstdio>

namespace steward::server {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string Metrics::EscapeLabel(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::ObserveRequest(const std::string& endpoint, const std::string& arm, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, arm, status}];
  Latency& l = latency_[{endpoint, arm}];
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    if (seconds <= kLatencyBuckets[b]) {
      ++l.le[b];
      break;
    }
  }
  ++l.count;
  l.sum += seconds;
}

void Metrics::CountAuthDenied(int status) {
  std::lock_guard lock(mu_);
  ++auth_denied_[status];
}

void Metrics::CountEvents(uint64_t accepted, uint64_t rejected, uint64_t unavailable_batches) {
  std::lock_guard lock(mu_);
  events_accepted_ += accepted;
  events_rejected_ += rejected;
  events_unavailable_ += unavailable_batches;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP steward_http_requests_total HTTP requests by endpoint, arm and status code.\n";
  out += "# TYPE steward_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [endpoint, arm, code] = key;
    out += "steward_http_requests_total{endpoint=\"" + EscapeLabel(endpoint) + "\",arm=\"" + EscapeLabel(arm) + "\",code=\"" +
           std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP steward_http_errors_total HTTP responses with a 4xx or 5xx status, by endpoint and code.\n";
  out += "# TYPE steward_http_errors_total counter\n";
  std::map<std::pair<std::string, int>, uint64_t> errors;
  for (const auto& [key, n] : requests_) {
    if (std::get<2>(key) >= 400) errors[{std::get<0>(key), std::get<2>(key)}] += n;
  }
  for (const auto& [key, n] : errors) {
    out += "steward_http_errors_total{endpoint=\"" + EscapeLabel(key.first) + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP steward_http_request_duration_seconds Time from a parsed request to its response, by endpoint and arm.\n";
  out += "# TYPE steward_http_request_duration_seconds histogram\n";
  for (const auto& [key, l] : latency_) {
    const std::string labels = "endpoint=\"" + EscapeLabel(key.first) + "\",arm=\"" + EscapeLabel(key.second) + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      cumulative += l.le[b];
      out += "steward_http_request_duration_seconds_bucket{" + labels + ",le=\"" + Num(kLatencyBuckets[b]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "steward_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(l.count) + "\n";
    out += "steward_http_request_duration_seconds_sum{" + labels + "} " + Num(l.sum) + "\n";
    out += "steward_http_request_duration_seconds_count{" + labels + "} " + std::to_string(l.count) + "\n";
  }
  out += "# HELP steward_auth_denied_total Requests refused for authentication (401) or role (403).\n";
  out += "# TYPE steward_auth_denied_total counter\n";
  for (int code : {401, 403}) {
    auto it = auth_denied_.find(code);
    out += "steward_auth_denied_total{code=\"" + std::to_string(code) + "\"} " +
           std::to_string(it == auth_denied_.end() ? 0 : it->second) + "\n";
  }
  out += "# HELP steward_events_accepted_total NDJSON event lines accepted by POST /v1/events (durable when answered).\n";
  out += "# TYPE steward_events_accepted_total counter\n";
  out += "steward_events_accepted_total " + std::to_string(events_accepted_) + "\n";
  out += "# HELP steward_events_rejected_total NDJSON event lines rejected with a reason.\n";
  out += "# TYPE steward_events_rejected_total counter\n";
  out += "steward_events_rejected_total " + std::to_string(events_rejected_) + "\n";
  out += "# HELP steward_events_unavailable_total POST /v1/events batches answered 503 because the writer queue was full.\n";
  out += "# TYPE steward_events_unavailable_total counter\n";
  out += "steward_events_unavailable_total " + std::to_string(events_unavailable_) + "\n";
  return out;
}

}  // namespace steward::server
