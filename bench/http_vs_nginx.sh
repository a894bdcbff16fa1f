#!/usr/bin/env bash
# The HTTP service against nginx on the same machine, one run (issue #10):
#   1. /v1/assign requests/s (wrk, closed loop) as a ratio of nginx serving a static 200-byte JSON
#      file with the same wrk threads, connections and duration (goal >= 0.5x);
#   2. /v1/recommend with the hybrid (10,000 items) at fixed offered loads of 500 and 1,900
#      requests/s (`steward bench http`, open loop, latency from the intended send time):
#      p50/p95/p99 (goal p99 < 10 ms at both);
#   3. /v1/events durable ingest: NDJSON batches of 10,000 external exposures, closed loop,
#      events/s acknowledged with 200 (goal >= 500,000).
# Installs and builds nothing: needs wrk and nginx (scripts/install-deps.sh) and a built steward.
# Everything lives in a temporary directory; both servers are stopped by pid on exit, also on failure.
#
# Usage: bench/http_vs_nginx.sh [BUILD_DIR] [--duration S] [--events-duration S] [--connections C]
#                               [--event-connections C] [--rates "500 1900"]
#   BUILD_DIR            where `steward` is (default: build)
#   --duration S         seconds of each wrk run and of each fixed-rate run (default 10; env HTTP_BENCH_DURATION)
#   --events-duration S  seconds of the ingest run (default: --duration; env HTTP_BENCH_EVENTS_DURATION)
#   --connections C      wrk and fixed-rate connections (default 32; env HTTP_BENCH_CONNECTIONS)
#   --event-connections C  ingest connections (default 4; env HTTP_BENCH_EVENT_CONNECTIONS)
#   --rates "R1 R2"      offered /v1/recommend loads (default "500 1900"; env HTTP_BENCH_RATES)
# Prints progress on stderr, then a table and one JSON line on stdout.
set -euo pipefail

BUILD=build
DURATION="${HTTP_BENCH_DURATION:-10}"
EVENTS_DURATION="${HTTP_BENCH_EVENTS_DURATION:-}"
CONNECTIONS="${HTTP_BENCH_CONNECTIONS:-32}"
EVENT_CONNECTIONS="${HTTP_BENCH_EVENT_CONNECTIONS:-4}"
RATES="${HTTP_BENCH_RATES:-500 1900}"
WRK_THREADS=2
SERVER_THREADS=2

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --events-duration) EVENTS_DURATION="${2:?--events-duration needs a value}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a value}"; shift 2 ;;
    --event-connections) EVENT_CONNECTIONS="${2:?--event-connections needs a value}"; shift 2 ;;
    --rates) RATES="${2:?--rates needs a value}"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "http_vs_nginx: unknown option $1" >&2; usage ;;
    *) BUILD="$1"; shift ;;
  esac
done
EVENTS_DURATION="${EVENTS_DURATION:-$DURATION}"
for v in "$DURATION" "$EVENTS_DURATION" "$CONNECTIONS" "$EVENT_CONNECTIONS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "http_vs_nginx: durations and connections must be positive integers, got '$v'" >&2; exit 2; }
done
[ "$CONNECTIONS" -ge "$WRK_THREADS" ] || { echo "http_vs_nginx: --connections must be at least $WRK_THREADS (wrk threads)" >&2; exit 2; }

STEWARD="$BUILD/steward"
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$STEWARD" ] || { echo "http_vs_nginx: $STEWARD not found; build it first (cmake --build $BUILD --target steward)" >&2; exit 1; }
STEWARD=$(cd "$(dirname "$STEWARD")" && pwd)/steward
for tool in wrk nginx python3; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
    echo "http_vs_nginx: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d)
WWW=$(mktemp -d)  # readable by nginx's workers (they drop root to nobody)
chmod 755 "$WWW"
SERVE_PID=""
NGINX_PID=""
cleanup() {
  local rc=$?
  for pid in $SERVE_PID $NGINX_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK" "$WWW"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export STEWARD_AUDIT_KEY_FILE="$WORK/audit.key"  # never $HOME
log() { echo "http_vs_nginx: $*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# --- The database: the demo experiment (events), the hybrid on both arms (assign, recommend), a token.
DB="$WORK/steward.db"
"$STEWARD" experiment create --db "$DB" --file "$REPO/data/experiments/demo.yaml" >/dev/null
"$STEWARD" experiment create --db "$DB" --file "$REPO/bench/hybrid-http.yaml" >/dev/null
"$STEWARD" experiment ramp --db "$DB" --name homepage-recs --actor bench >/dev/null
"$STEWARD" experiment ramp --db "$DB" --name hybrid-http --actor bench >/dev/null
TOKEN=$("$STEWARD" token create --db "$DB" --name bench --role service --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# --- steward serve on a port of its choosing.
log "starting steward serve --threads $SERVER_THREADS"
serve_start=$(date +%s.%N)
"$STEWARD" serve --db "$DB" --listen 127.0.0.1:0 --threads "$SERVER_THREADS" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 1200); do
  grep -q '^listening on ' "$WORK/serve.out" 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || { log "steward serve exited:"; cat "$WORK/serve.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^listening on ' "$WORK/serve.out" || { log "steward serve not ready after 120 s"; tail -20 "$WORK/serve.err" >&2; exit 1; }
serve_ready_s=$(python3 -c "import time; print(round(time.time() - $serve_start, 2))")
STEWARD_ADDR=$(sed -n 's/^listening on //p' "$WORK/serve.out" | head -n 1)
STEWARD_URL="http://$STEWARD_ADDR"
log "steward serve ready at $STEWARD_URL after ${serve_ready_s} s"

# --- nginx: 2 workers, no access log, a static 200-byte JSON file.
mkdir -p "$WORK/nginx/tmp" "$WORK/nginx/logs"
python3 - "$WWW/assign.json" <<'PY'
import sys
doc = '{"user":"u1","hash":0.5577,"arm":"control","arm_index":0,"in_experiment":true,"pad":"%s"}\n'
pad = 200 - len(doc % "")
open(sys.argv[1], "w").write(doc % ("x" * pad))
PY
chmod 644 "$WWW/assign.json"
[ "$(stat -c %s "$WWW/assign.json")" -eq 200 ] || { log "the static file is not 200 bytes"; exit 1; }
NGINX_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $SERVER_THREADS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  types { application/json json; }
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WWW;
  }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx/stderr" &
NGINX_PID=$!
NGINX_URL="http://127.0.0.1:$NGINX_PORT/assign.json"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('$NGINX_URL', timeout=1)" 2>/dev/null && break
  kill -0 "$NGINX_PID" 2>/dev/null || { log "nginx exited:"; cat "$WORK/nginx/stderr" "$WORK/nginx/logs/error.log" >&2; exit 1; }
  sleep 0.1
done
python3 -c "import urllib.request; assert len(urllib.request.urlopen('$NGINX_URL', timeout=1).read()) == 200" ||
  { log "nginx does not serve the file"; cat "$WORK/nginx/logs/error.log" >&2; exit 1; }
log "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') ready at $NGINX_URL"

# --- 1. wrk: nginx's static file, then /v1/assign, same threads, connections and duration.
cat >"$WORK/assign.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"experiment": "hybrid-http", "user_id": "u1"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
curl_check=$(python3 - "$STEWARD_URL" "$TOKEN" <<'PY'
import json, sys, urllib.request
rq = urllib.request.Request(sys.argv[1] + "/v1/assign", data=b'{"experiment": "hybrid-http", "user_id": "u1"}',
                            headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(rq, timeout=5))["in_experiment"])
PY
)
[ "$curl_check" = "True" ] || { log "/v1/assign did not assign u1: $curl_check"; exit 1; }
WRK="wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency"
log "$WRK $NGINX_URL"
$WRK "$NGINX_URL" >"$WORK/wrk-nginx.txt"
log "$WRK -s assign.lua $STEWARD_URL/v1/assign"
$WRK -s "$WORK/assign.lua" "$STEWARD_URL/v1/assign" >"$WORK/wrk-assign.txt"

# --- 2. /v1/recommend with the hybrid at fixed offered loads.
RECOMMEND_JSON=()
for rate in $RATES; do
  log "steward bench http --path /v1/recommend --rate $rate --duration $DURATION --connections $CONNECTIONS"
  RECOMMEND_JSON+=("$("$STEWARD" bench http --url "$STEWARD_URL" --token "$TOKEN" --path /v1/recommend --experiment hybrid-http \
                      --users 100000 --rate "$rate" --duration "$DURATION" --connections "$CONNECTIONS" --seed 1 --json |
                      tail -n 1)")
done

# --- 3. /v1/events: 10,000-line batches of external exposures to the demo experiment.
log "steward bench http --events --batch-lines 10000 --duration $EVENTS_DURATION --connections $EVENT_CONNECTIONS"
EVENTS_JSON=$("$STEWARD" bench http --url "$STEWARD_URL" --token "$TOKEN" --events --batch-lines 10000 \
              --experiment homepage-recs --first-request-id 1000000000000 --duration "$EVENTS_DURATION" \
              --connections "$EVENT_CONNECTIONS" --seed 1 --json | tail -n 1)

kill -0 "$SERVE_PID" 2>/dev/null || { log "steward serve died during the run:"; tail -20 "$WORK/serve.err" >&2; exit 1; }
SERVE_RSS_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVE_PID/status" 2>/dev/null || echo 0)
SERVE_LOG_LINES=$(wc -l <"$WORK/serve.err")
if [ "$SERVE_LOG_LINES" -gt 0 ]; then log "steward serve wrote $SERVE_LOG_LINES log lines; the last ones:"; tail -5 "$WORK/serve.err" >&2; fi

python3 - "$WORK/wrk-nginx.txt" "$WORK/wrk-assign.txt" "$EVENTS_JSON" "$DURATION" "$EVENTS_DURATION" "$CONNECTIONS" \
  "$EVENT_CONNECTIONS" "$serve_ready_s" "$SERVE_RSS_KB" "$SERVE_LOG_LINES" "$(nproc)" "${RECOMMEND_JSON[@]}" <<'PY'
import json, re, sys
(wrk_nginx, wrk_assign, events_json, duration, events_duration, connections, event_connections, ready_s, rss_kb,
 log_lines, cores) = sys.argv[1:12]
recommend = [json.loads(j) for j in sys.argv[12:]]
events = json.loads(events_json)

def unit_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

def parse_wrk(path):
    text = open(path).read()
    out = {"requests_per_sec": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    for q in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % q, text, re.M)
        out["p%s_ms" % q] = round(unit_ms(*m.groups()), 3) if m else None
    return out

nginx, assign = parse_wrk(wrk_nginx), parse_wrk(wrk_assign)
ratio = assign["requests_per_sec"] / nginx["requests_per_sec"]
rows = [("nginx static 200 B (wrk)", "%.0f req/s" % nginx["requests_per_sec"], "p50 %s ms, p99 %s ms (closed loop)" % (nginx["p50_ms"], nginx["p99_ms"]), ""),
        ("/v1/assign (wrk)", "%.0f req/s" % assign["requests_per_sec"], "p50 %s ms, p99 %s ms (closed loop)" % (assign["p50_ms"], assign["p99_ms"]),
         "%.2fx nginx (goal >= 0.5x)" % ratio)]
for r in recommend:
    rows.append(("/v1/recommend hybrid @ %g/s" % r["rate_offered"], "%.0f req/s achieved" % r["rate_achieved"],
                 "p50 %.2f, p95 %.2f, p99 %.2f, max %.2f ms" % (r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"]),
                 "p99 %s 10 ms; %d errors" % ("<" if r["p99_ms"] < 10 else ">=", r["errors"])))
rows.append(("/v1/events 10,000-line batches", "%.0f events/s" % events["events_per_sec"],
             "batch p50 %.0f ms, p99 %.0f ms" % (events["batch_p50_ms"], events["batch_p99_ms"]),
             "%.2fx goal 500,000; %d x 503, %d errors" % (events["events_per_sec"] / 500000, events["status_503"], events["errors"])))
widths = [max(len(row[i]) for row in rows + [("what", "rate", "latency", "vs goal")]) for i in range(4)]
for row in [("what", "rate", "latency", "vs goal")] + [tuple("-" * w for w in widths)] + rows:
    print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
print(json.dumps({
    "cores": int(cores), "duration_s": int(duration), "events_duration_s": int(events_duration),
    "connections": int(connections), "event_connections": int(event_connections), "serve_ready_s": float(ready_s),
    "nginx": nginx, "assign": assign, "assign_over_nginx": round(ratio, 3),
    "recommend": [{k: r[k] for k in ("rate_offered", "rate_achieved", "requests", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms", "status_counts")}
                  for r in recommend],
    "events": {k: events[k] for k in ("events_per_sec", "events", "seconds", "batches", "status_503", "errors", "lines_rejected",
                                      "batch_p50_ms", "batch_p99_ms")},
    "serve_peak_rss_mb": round(int(rss_kb) / 1024, 1), "serve_log_lines": int(log_lines),
}))
PY
