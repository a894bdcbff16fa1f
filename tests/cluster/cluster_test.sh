#!/usr/bin/env bash
# Issue #14's cluster test: two `steward serve` replicas on a PostgreSQL control plane (primary +
# synchronous standby) shipping events to a 2-shard x 2-replica ClickHouse cluster, all started here
# by scripts/cluster.sh and stopped at the end. `steward demo --url A,B` splits users between the
# replicas; midway a ClickHouse replica is killed (SIGKILL) and restarted, and serve replica B is
# killed with kill -9 and restarted. Then:
#   1. every event a replica committed (each replica's SQLite) is in ClickHouse exactly once, and
#      every click or conversion a replica acknowledged (200, not rejected) is there;
#   2. the audit chain verifies on the PostgreSQL standby;
#   3. the per-arm guardrail sums computed in ClickHouse equal those computed from a SQLite copy of
#      the same events;
#   4. a rollback issued through replica A stops treatment assignment on replica B within 1 s.
# The ClickHouse replica stays down until replica A has had to retry a batch (the outage is felt).
# Usage: cluster_test.sh STEWARD_BINARY
set -euo pipefail

STEWARD=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/steward-cluster-test.XXXXXX)
chmod 755 "$WORK"
BASE=$((24000 + ($$ % 40) * 100))
A_PORT=$((BASE + 70))
B_PORT=$((BASE + 71))
export STEWARD_AUDIT_KEY_FILE="$WORK/audit.key"
export STEWARD_DATA="$ROOT/data"
A_PID=""
B_PID=""
DEMO_PID=""

log() { echo "cluster_test: $*" >&2; }
fail() {
  log "FAIL: $*"
  for f in "$WORK"/a.log "$WORK"/b.log "$WORK"/b2.log "$WORK"/demo.log; do
    [ -f "$f" ] && { echo "--- tail of $f" >&2; tail -25 "$f" >&2; }
  done
  exit 1
}
cleanup() {
  for p in $DEMO_PID $A_PID $B_PID; do kill -9 "$p" 2>/dev/null || true; done
  "$ROOT/scripts/cluster.sh" down --dir "$WORK/cluster" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$(date +%s)
log "starting the cluster (ClickHouse 2x2 + ZooKeeper, PostgreSQL primary + sync standby) on ports $BASE+"
"$ROOT/scripts/cluster.sh" up --dir "$WORK/cluster" --base-port "$BASE" >"$WORK/cluster-up.log" 2>&1 ||
  { cat "$WORK/cluster-up.log" >&2; fail "scripts/cluster.sh up failed"; }
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
log "cluster up in $(($(date +%s) - T0)) s"

ch() {  # ch PORT SQL: one query over ClickHouse's HTTP interface
  curl -sfS "http://127.0.0.1:$1/" --data-binary "$2"
}
CH1=${STEWARD_CH_HTTP_PORTS%% *}

ADMIN=$("$STEWARD" token create --db "$STEWARD_CONTROL_URL" --name cluster-admin --role admin --actor cluster-test)
ONCALL=$("$STEWARD" token create --db "$STEWARD_CONTROL_URL" --name pager --role oncall --actor cluster-test)

serve() {  # serve NAME PORT LOG: starts a replica in the background; its pid in LAST_PID
  "$STEWARD" serve --db "$WORK/$1.db" --control "$STEWARD_CONTROL_URL" --events "$STEWARD_EVENTS_URL" \
    --replica-id "replica-$1" --listen "127.0.0.1:$2" --seed 7 --control-tick-ms 200 --lease-ms 2000 >"$3" 2>&1 &
  LAST_PID=$!
}
wait_ready() {  # wait_ready PORT
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "replica on port $1 did not become ready"
}
serve a "$A_PORT" "$WORK/a.log"
A_PID=$LAST_PID
serve b "$B_PORT" "$WORK/b.log"
B_PID=$LAST_PID
wait_ready "$A_PORT"
wait_ready "$B_PORT"
log "two replicas ready"

REQUESTS=${CLUSTER_TEST_REQUESTS:-6000}
"$STEWARD" demo --url "http://127.0.0.1:$A_PORT,http://127.0.0.1:$B_PORT" --token "$ADMIN" \
  --experiment "$ROOT/tests/cluster/cluster_experiment.yaml" --requests "$REQUESTS" --seed 7 --json --quiet \
  >"$WORK/demo.json" 2>"$WORK/demo.log" &
DEMO_PID=$!

served() { sqlite3 "$WORK/$1.db" "SELECT COUNT(*) FROM exposures" 2>/dev/null || echo 0; }
wait_served() {  # wait_served N: until the replicas together committed N exposures
  for _ in $(seq 1 600); do
    [ $(($(served a) + $(served b))) -ge "$1" ] && return 0
    kill -0 "$DEMO_PID" 2>/dev/null || return 0
    sleep 0.1
  done
}

wait_served $((REQUESTS / 4))
log "killing ClickHouse replica ch-s2-r2 (SIGKILL) at $(($(served a) + $(served b))) exposures"
"$ROOT/scripts/cluster.sh" stop-node ch-s2-r2 --kill --dir "$WORK/cluster" >/dev/null
wait_served $((REQUESTS / 2))
log "kill -9 serve replica b at $(($(served a) + $(served b))) exposures"
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null || true
sleep 1
serve b "$B_PORT" "$WORK/b2.log"
B_PID=$LAST_PID
wait_ready "$B_PORT"
log "replica b restarted"
wait "$DEMO_PID" || fail "the demo failed"
DEMO_PID=""
DEMO=$(tail -1 "$WORK/demo.json")
ACKED=$(echo "$DEMO" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["clicks"] + d["conversions"])')
log "demo done: $(echo "$DEMO" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exposures"], "lists,", d["clicks"], "clicks,", d["conversions"], "conversions acknowledged,", d["feedback_rejected"], "refused,", d["failovers"], "failovers")')"

# The ClickHouse outage is felt: quorum inserts into shard 2 fail (once the dead replica's
# ZooKeeper session expired, or after insert_quorum_timeout) and replica a (up throughout) retries
# its batches. Only then is the replica restarted.
retries_on_a() {
  curl -sf "http://127.0.0.1:$A_PORT/metrics" -H "Authorization: Bearer $ADMIN" | awk '$1 == "steward_clickhouse_retries_total" {print $2}'
}
for _ in $(seq 1 300); do
  [ "$(retries_on_a)" -gt 0 ] 2>/dev/null && break
  sleep 0.1
done
RETRIES=$(retries_on_a)
log "replica a retried $RETRIES ClickHouse batches during the outage"
[ "${RETRIES:-0}" -gt 0 ] || fail "replica a never had to retry a batch in 30 s: the ClickHouse replica's outage was not felt"
log "restarting ClickHouse replica ch-s2-r2"
"$ROOT/scripts/cluster.sh" start-node ch-s2-r2 --dir "$WORK/cluster" >/dev/null

# 4. Rollback through A; B stops assigning treatment within 1 s. The users probed are the first
# 2000 ids; about a quarter are in treatment at the 50% step.
USERS=$(python3 -c 'import json; print(json.dumps({"experiment": "cluster-recs", "user_ids": [str(i) for i in range(2000)]}))')
treated_on_b() {  # users in treatment on replica b now (a grep, so a probe takes milliseconds)
  curl -sf -X POST "http://127.0.0.1:$B_PORT/v1/assign" -H "Authorization: Bearer $ADMIN" -d "$USERS" |
    grep -o '"arm":"treatment"' | wc -l
}
BEFORE=$(treated_on_b)
[ "$BEFORE" -gt 0 ] || fail "no user in treatment on replica b before the rollback (state: $(curl -s "http://127.0.0.1:$A_PORT/v1/experiments/cluster-recs" -H "Authorization: Bearer $ADMIN"))"
START_NS=$(date +%s%N)
curl -sf -X POST "http://127.0.0.1:$A_PORT/v1/experiments/cluster-recs/rollback" -H "Authorization: Bearer $ONCALL" \
  -d '{"reason": "cluster test: rollback through replica a"}' >/dev/null || fail "rollback through replica a refused"
while :; do
  NOW_NS=$(date +%s%N)
  [ "$(treated_on_b)" -eq 0 ] && break
  [ $(((NOW_NS - START_NS) / 1000000)) -gt 5000 ] && fail "replica b still assigns treatment 5 s after the rollback"
  sleep 0.02
done
ROLLBACK_MS=$(((NOW_NS - START_NS) / 1000000))
log "rollback through a: b stopped treatment after $ROLLBACK_MS ms (was $BEFORE of 2000 probed users)"
[ "$ROLLBACK_MS" -le 1000 ] || fail "replica b stopped treatment only after $ROLLBACK_MS ms (> 1 s)"

# Exactly one replica drove the rollout: the lease names one of them, and analyses ran.
HOLDER=$(psql -qtA "$STEWARD_CONTROL_URL" -c "SELECT holder FROM leases WHERE name = 'rollout:cluster-recs'" 2>/dev/null || true)
log "rollout lease held by: ${HOLDER:-nobody}"
case "$HOLDER" in replica-a | replica-b) ;; *) fail "no replica holds the rollout lease" ;; esac

# Stop the replicas cleanly: each flushes its events and waits until ClickHouse has acknowledged
# every spooled batch.
kill -TERM "$A_PID" "$B_PID"
wait "$A_PID" || fail "replica a did not stop cleanly"
wait "$B_PID" || fail "replica b did not stop cleanly"
A_PID=""
B_PID=""

# 1. Exactly once.
LOCAL_EXPOSURES=$(($(served a) + $(served b)))
LOCAL_FEEDBACK=$(($(sqlite3 "$WORK/a.db" "SELECT COUNT(*) FROM feedback") + $(sqlite3 "$WORK/b.db" "SELECT COUNT(*) FROM feedback")))
CH_EXPOSURES=$(ch "$CH1" "SELECT count(), uniqExact(request_id) FROM steward.exposures FORMAT TSV")
CH_FEEDBACK=$(ch "$CH1" "SELECT count(), uniqExact(request_id, position, kind) FROM steward.feedback FORMAT TSV")
log "exposures: replicas committed $LOCAL_EXPOSURES; ClickHouse rows, distinct request ids: $CH_EXPOSURES"
log "feedback: acknowledged $ACKED, replicas committed $LOCAL_FEEDBACK; ClickHouse rows, distinct: $CH_FEEDBACK"
[ "$CH_EXPOSURES" = "$LOCAL_EXPOSURES	$LOCAL_EXPOSURES" ] || fail "exposures in ClickHouse are not exactly the committed ones"
[ "$LOCAL_FEEDBACK" -eq "$ACKED" ] || fail "the replicas hold $LOCAL_FEEDBACK feedback rows, the demo had $ACKED acknowledged"
[ "$CH_FEEDBACK" = "$ACKED	$ACKED" ] || fail "feedback in ClickHouse is not exactly the acknowledged events"

# 2. The audit chain on the standby.
"$STEWARD" audit-log verify --db "$STEWARD_CONTROL_STANDBY_URL" >"$WORK/verify.txt" 2>&1 || { cat "$WORK/verify.txt" >&2; fail "audit chain does not verify on the standby"; }
log "audit chain on the standby: $(head -1 "$WORK/verify.txt")"

# 3. Guardrail sums: ClickHouse vs a SQLite copy of the same events.
cp "$WORK/a.db" "$WORK/merged.db"
sqlite3 "$WORK/merged.db" "ATTACH '$WORK/b.db' AS b; INSERT INTO exposures SELECT * FROM b.exposures; INSERT INTO feedback SELECT * FROM b.feedback;"
"$STEWARD" events guardrails --db "$WORK/merged.db" --experiment cluster-recs --json >"$WORK/g-sqlite.json"
"$STEWARD" events guardrails --events "$STEWARD_EVENTS_URL" --experiment cluster-recs --json >"$WORK/g-ch.json"
cmp -s "$WORK/g-sqlite.json" "$WORK/g-ch.json" || { diff "$WORK/g-sqlite.json" "$WORK/g-ch.json" >&2; fail "guardrail sums differ between SQLite and ClickHouse"; }
log "guardrail sums equal: $(cat "$WORK/g-ch.json")"

log "PASS in $(($(date +%s) - T0)) s"
