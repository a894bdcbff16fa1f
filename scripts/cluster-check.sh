#!/usr/bin/env bash
# End-to-end check of scripts/cluster.sh (docs/scale-out.md): up; replicated + Distributed tables
# ON CLUSTER; quorum inserts with block dedup; a killed replica makes quorum inserts fail and its
# return makes the retried identical block land exactly once; PostgreSQL read-your-commit on the
# standby; down leaves no process. Usage: scripts/cluster-check.sh [--base-port P] (default 21000).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=21000
[ "${1:-}" = --base-port ] && BASE=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/steward-cluster-check.XXXXXX")
fail() { echo "cluster-check: FAIL: $*" >&2; exit 1; }
# whatever stops this script early (a failed check, set -e, Ctrl-C) takes the cluster down
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "cluster-check: FAIL (exit $rc); stopping $DIR" >&2
    scripts/cluster.sh down --dir "$DIR" >/dev/null 2>&1 || true
  fi
}
trap on_exit EXIT

t0=$EPOCHREALTIME
scripts/cluster.sh up --dir "$DIR" --base-port "$BASE" || fail "up"
echo "cluster-check: up took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
# shellcheck disable=SC1091
. "$DIR/cluster.env"
read -r P1 P2 P3 P4 <<<"$STEWARD_CH_HTTP_PORTS"
q() { curl -sS --fail-with-body "http://127.0.0.1:$1/" --data-binary "$2"; }
SETTINGS="insert_distributed_sync=1&insert_quorum=2&insert_quorum_timeout=3000"
ins() { curl -sS -o "$DIR/insert.out" -w '%{http_code}' \
          "http://127.0.0.1:$P1/?$SETTINGS&query=INSERT%20INTO%20steward.t%20FORMAT%20TabSeparated" --data-binary @- <<<"$1"; }
count() { q "$P1" "SELECT count() FROM steward.t"; }
block() { local i; for i in $(seq "$1" "$2"); do printf '%d\t%d\n' "$i" "$i"; done; }

q "$P1" "CREATE TABLE steward.t_local ON CLUSTER steward (ts UInt64, k UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/t_local', '{replica}') ORDER BY (ts, k)" >/dev/null || fail "create t_local"
q "$P1" "CREATE TABLE steward.t ON CLUSTER steward AS steward.t_local ENGINE = Distributed(steward, steward, t_local, k)" >/dev/null || fail "create t"

[ "$(ins "$(block 1 10)")" = 200 ] && [ "$(count)" = 10 ] || fail "first block: count $(count)"
[ "$(ins "$(block 1 10)")" = 200 ] && [ "$(count)" = 10 ] || fail "identical block not deduplicated: count $(count)"
[ "$(ins "$(block 11 20)")" = 200 ] && [ "$(count)" = 20 ] || fail "second block: count $(count)"
echo "cluster-check: quorum inserts and block dedup: ok (count 20)"

scripts/cluster.sh stop-node ch-s1-r2 --dir "$DIR" --kill
code=$(ins "$(block 21 30)") || true
[ "$code" != 200 ] || fail "quorum insert succeeded with ch-s1-r2 dead"
echo "cluster-check: insert with ch-s1-r2 dead: HTTP $code: $(head -c 200 "$DIR/insert.out" | tr '\n' ' ')"
scripts/cluster.sh start-node ch-s1-r2 --dir "$DIR"
t1=$EPOCHREALTIME; tries=0
for _ in $(seq 120); do
  tries=$((tries + 1))
  [ "$(ins "$(block 21 30)")" = 200 ] && break
  last=$(head -c 160 "$DIR/insert.out" | tr '\n' ' ')
  sleep 0.5
done
echo "cluster-check: the retried block went in after $(awk -v a="$t1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s, try $tries${last:+ (last error: $last)}"
[ "$(count)" = 30 ] || fail "retried block after start-node: count $(count)"
for _ in $(seq 50); do [ "$(q "$P2" "SELECT count() FROM steward.t_local")" = "$(q "$P1" "SELECT count() FROM steward.t_local")" ] && break; sleep 0.2; done
[ "$(q "$P2" "SELECT count() FROM steward.t_local")" = "$(q "$P1" "SELECT count() FROM steward.t_local")" ] || fail "ch-s1-r2 did not catch up"
[ "$(q "$P4" "SELECT count() FROM steward.t_local")" = "$(q "$P3" "SELECT count() FROM steward.t_local")" ] || fail "shard 2 replicas differ"
echo "cluster-check: retried block landed once (count 30), ch-s1-r2 caught up: ok"

PSQL=/usr/lib/postgresql/15/bin/psql
"$PSQL" -X -q "$STEWARD_CONTROL_URL" -c "CREATE TABLE t (id int PRIMARY KEY)" || fail "pg create"
for i in $(seq 1 20); do
  "$PSQL" -X -q "$STEWARD_CONTROL_URL" -c "INSERT INTO t VALUES ($i)"
  [ "$("$PSQL" -X -At "$STEWARD_CONTROL_STANDBY_URL" -c "SELECT count(*) FROM t WHERE id = $i")" = 1 ] || fail "commit $i not visible on the standby"
done
[ "$("$PSQL" -X -At "$STEWARD_CONTROL_URL" -c "SELECT sync_state FROM pg_stat_replication")" = sync ] || fail "standby not sync"
echo "cluster-check: PostgreSQL commits visible on the standby at once, sync_state = sync: ok"

# every server process and its children, recorded before down
pids=""
for f in "$DIR"/*/pid "$DIR"/pg/*/postmaster.pid; do
  p=$(head -n1 "$f"); pids="$pids $p $(pgrep -P "$p" | tr "\n" " " || true)"
done
scripts/cluster.sh down --dir "$DIR"
sleep 0.5
left=""
for p in $pids; do
  if [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; then left="$left $p"; fi
done
left="$left $(pgrep -r R,S,D -f "$DIR" | tr "\n" " " || true)"
[ -z "${left// /}" ] || fail "processes left after down:$left"
echo "cluster-check: down left none of the $(wc -w <<<"$pids") server processes: ok"
rm -rf "$DIR"
echo "cluster-check: PASS"
