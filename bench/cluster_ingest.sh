#!/usr/bin/env bash
# Issue #14's scale-out benchmark, two figures, each beside its single-machine baseline measured in
# the same run:
#   1. ingest: events/s through two `steward serve` replicas (PostgreSQL control plane, events
#      spooled and shipped to the 2 x 2 ClickHouse cluster), timed from the first POST /v1/events
#      until ClickHouse holds every event; beside one replica on SQLite alone, timed until its
#      last POST answered (each 200 means durably committed);
#   2. analysis: the guardrail query (steward events guardrails) over EVENTS_10M exposures (+ about
#      a tenth as many clicks) generated in ClickHouse and in a SQLite file, same rows.
# The cluster is started and stopped here (scripts/cluster.sh). Usage:
#   bench/cluster_ingest.sh [STEWARD_BINARY]   (env: INGEST_EVENTS per replica, default 500000;
#   ANALYSIS_EVENTS, default 10000000; BATCH lines per POST, default 10000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEWARD=$(realpath "${1:-$ROOT/build/steward}")
INGEST_EVENTS=${INGEST_EVENTS:-500000}
ANALYSIS_EVENTS=${ANALYSIS_EVENTS:-10000000}
BATCH=${BATCH:-10000}
WORK=$(mktemp -d /tmp/steward-cluster-bench.XXXXXX)
chmod 755 "$WORK"
BASE=${BASE_PORT:-28000}
export STEWARD_AUDIT_KEY_FILE="$WORK/audit.key"
export STEWARD_DATA="$ROOT/data"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  "$ROOT/scripts/cluster.sh" down --dir "$WORK/cluster" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "cluster_ingest: $*" >&2; }
now_ms() { date +%s%3N; }

"$ROOT/scripts/cluster.sh" up --dir "$WORK/cluster" --base-port "$BASE" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; exit 1; }
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
CH1=${STEWARD_CH_HTTP_PORTS%% *}
ch() { curl -sfS "http://127.0.0.1:$CH1/" --data-binary "$1"; }
ADMIN=$("$STEWARD" token create --db "$STEWARD_CONTROL_URL" --name bench --role admin 2>/dev/null)
SINGLE_ADMIN=$("$STEWARD" token create --db "$WORK/single.db" --name bench --role admin 2>/dev/null)

start() {  # start NAME PORT [extra serve flags...]
  local name=$1 port=$2
  shift 2
  "$STEWARD" serve --db "$WORK/$name.db" --listen "127.0.0.1:$port" --seed 7 "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "replica $name did not start" >&2
  exit 1
}
start a $((BASE + 70)) --control "$STEWARD_CONTROL_URL" --events "$STEWARD_EVENTS_URL" --replica-id a
start b $((BASE + 71)) --control "$STEWARD_CONTROL_URL" --events "$STEWARD_EVENTS_URL" --replica-id b
start single $((BASE + 72))
for port_token in "$((BASE + 70)):$ADMIN" "$((BASE + 72)):$SINGLE_ADMIN"; do
  curl -sf -X POST "http://127.0.0.1:${port_token%%:*}/v1/experiments" -H "Authorization: Bearer ${port_token#*:}" \
    -H "Content-Type: application/yaml" --data-binary @"$ROOT/tests/cluster/cluster_experiment.yaml" >/dev/null
done
sleep 1.5  # replica b serves the experiment once its control loop saw it (one tick)

# NDJSON batches of external exposures, ids disjoint per sender (from 10^12, as docs/api.md asks).
gen() {  # gen FIRST_ID COUNT DIR: files of BATCH lines
  mkdir -p "$3"
  python3 - "$1" "$2" "$3" "$BATCH" <<'EOF'
import sys
first, count, out, batch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for b in range(0, count, batch):
    with open(f"{out}/{b // batch:06d}.ndjson", "w") as f:
        for i in range(first + b, first + min(b + batch, count)):
            arm = "treatment" if i % 2 else "control"
            f.write('{"type":"exposure","request_id":%d,"user_id":"u%d","experiment":"cluster-recs","arm":"%s",'
                    '"items":[{"item_id":%d},{"item_id":%d}]}\n' % (i, i % 50000, arm, 1 + i % 1000, 1001 + (i * 7) % 1000))
EOF
}
gen 1000000000000 "$INGEST_EVENTS" "$WORK/a-batches"
gen 2000000000000 "$INGEST_EVENTS" "$WORK/b-batches"
gen 3000000000000 "$INGEST_EVENTS" "$WORK/s-batches"
send() {  # send PORT TOKEN DIR
  for f in "$3"/*.ndjson; do
    local out
    out=$(curl -sf -X POST "http://127.0.0.1:$1/v1/events" -H "Authorization: Bearer $2" -H "Content-Type: application/x-ndjson" \
      --data-binary @"$f") || { echo "POST failed: $f" >&2; return 1; }
    case "$out" in *'"rejected":[]'*) ;; *) echo "lines refused in $f: ${out:0:300}" >&2; return 1 ;; esac
  done
}

say "single replica on SQLite: $INGEST_EVENTS exposures in batches of $BATCH"
T0=$(now_ms)
send $((BASE + 72)) "$SINGLE_ADMIN" "$WORK/s-batches"
T1=$(now_ms)
SINGLE_RATE=$((INGEST_EVENTS * 1000 / (T1 - T0)))
say "  committed in $((T1 - T0)) ms: $SINGLE_RATE events/s"

say "two replicas -> ClickHouse 2x2: $((2 * INGEST_EVENTS)) exposures, half to each"
T0=$(now_ms)
send $((BASE + 70)) "$ADMIN" "$WORK/a-batches" &
SA=$!
send $((BASE + 71)) "$ADMIN" "$WORK/b-batches" &
SB=$!
wait $SA $SB
T1=$(now_ms)
for _ in $(seq 1 6000); do
  [ "$(ch "SELECT count() FROM steward.exposures WHERE experiment = 'cluster-recs'")" -ge $((2 * INGEST_EVENTS)) ] && break
  sleep 0.05
done
IN_CH=$(ch "SELECT count() FROM steward.exposures WHERE experiment = 'cluster-recs'")
[ "$IN_CH" -eq $((2 * INGEST_EVENTS)) ] || { echo "ClickHouse holds $IN_CH of $((2 * INGEST_EVENTS)) after 5 min" >&2; exit 1; }
T2=$(now_ms)
CLUSTER_RATE=$((2 * INGEST_EVENTS * 1000 / (T2 - T0)))
say "  accepted (committed on the replicas) in $((T1 - T0)) ms, all in ClickHouse after $((T2 - T0)) ms: $CLUSTER_RATE events/s"
say "  ratio cluster / single: $(python3 -c "print(round($CLUSTER_RATE / $SINGLE_RATE, 2))")"

say "analysis: $ANALYSIS_EVENTS exposures generated in ClickHouse and in SQLite"
ch "INSERT INTO steward.exposures (request_id, ts_ms, user_id, experiment, arm, served, model_version, latency_us, replica)
    SELECT toInt64(number + 5000000000000), toInt64(1700000000000 + number), toInt64(intHash64(number) % 1000000), 'analysis',
           if(number % 2 = 1, 'treatment', 'control'), '[[1,1.0]]', 'bench', toInt32(100 + number % 900), 'bench'
    FROM system.numbers LIMIT $ANALYSIS_EVENTS"
ch "INSERT INTO steward.feedback (request_id, ts_ms, user_id, item_id, position, kind, value, replica)
    SELECT toInt64(number + 5000000000000), toInt64(1700000000001 + number), toInt64(intHash64(number) % 1000000), toInt64(1),
           toInt32(1 + number % 3), toInt32(1), 1.0, 'bench'
    FROM system.numbers WHERE number % 10 = 0 LIMIT $((ANALYSIS_EVENTS / 10))"
# A SQLite file with Steward's schema (a token store write creates and migrates it), then the rows.
"$STEWARD" token create --db "$WORK/analysis.db" --name schema --role service >/dev/null 2>&1
ch "SELECT request_id, ts_ms, user_id, experiment, arm, served, model_version, latency_us FROM steward.exposures WHERE experiment = 'analysis' FORMAT TSV" |
  sqlite3 "$WORK/analysis.db" ".mode tabs" "PRAGMA synchronous=OFF" \
    "CREATE TEMP TABLE x (request_id, ts_ms, user_id, experiment, arm, served, model_version, latency_us)" ".import /dev/stdin x" \
    "INSERT INTO exposures (request_id, ts_ms, user_id, experiment, arm, served, model_version, latency_us) SELECT * FROM x"
ch "SELECT request_id, ts_ms, user_id, item_id, position, kind, value FROM steward.feedback WHERE request_id >= 5000000000000 FORMAT TSV" |
  sqlite3 "$WORK/analysis.db" ".mode tabs" "PRAGMA synchronous=OFF" \
    "CREATE TEMP TABLE f (request_id, ts_ms, user_id, item_id, position, kind, value)" ".import /dev/stdin f" \
    "INSERT INTO feedback SELECT * FROM f"
time_guardrails() {  # prints ms, best of 3
  local best=999999999
  for _ in 1 2 3; do
    local t0 t1
    t0=$(now_ms)
    "$STEWARD" events guardrails "$@" --experiment analysis --json >"$WORK/g.json"
    t1=$(now_ms)
    [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
  done
  echo "$best"
}
SQLITE_MS=$(time_guardrails --db "$WORK/analysis.db")
cp "$WORK/g.json" "$WORK/g-sqlite.json"
CH_MS=$(time_guardrails --events "$STEWARD_EVENTS_URL")
cmp -s "$WORK/g.json" "$WORK/g-sqlite.json" || { echo "the two engines disagree" >&2; diff "$WORK/g.json" "$WORK/g-sqlite.json" >&2; exit 1; }
say "  guardrail query, best of 3: SQLite $SQLITE_MS ms, ClickHouse $CH_MS ms (same result); ratio $(python3 -c "print(round($SQLITE_MS / max(1, $CH_MS), 1))")x"

cat <<EOF
| figure | single machine (SQLite) | scale-out (2 replicas, ClickHouse 2x2) | ratio |
|---|---|---|---|
| ingest, events/s (exposures via POST /v1/events, $BATCH per batch) | $SINGLE_RATE | $CLUSTER_RATE (until all in ClickHouse) | $(python3 -c "print(round($CLUSTER_RATE / $SINGLE_RATE, 2))") |
| guardrail query over $ANALYSIS_EVENTS exposures, ms (best of 3) | $SQLITE_MS | $CH_MS | $(python3 -c "print(round($SQLITE_MS / max(1, $CH_MS), 1))")x faster |
EOF
