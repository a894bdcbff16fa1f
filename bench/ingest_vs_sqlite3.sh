#!/usr/bin/env bash
# Durable ingest: Steward's production writer vs the sqlite3 command-line `.import` of the same
# number of comparable CSV rows (same 7 columns as the feedback table) into a WAL database, both
# measured in the same run on the same disk. Prints one JSON line.
# Usage: bench/ingest_vs_sqlite3.sh [path/to/steward] [events]
set -euo pipefail
STEWARD="${1:-build/steward}"
N="${2:-1000000}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Comparable rows: request_id, ts_ms, user_id, item_id, position, kind, value.
awk -v n="$N" 'BEGIN { srand(1); ts = 1767225600000;
  for (i = 1; i <= n; i++) { ts += int(rand() * 50);
    printf "%d,%d,%d,%d,%d,1,1.0\n", i, ts, int(rand() * 100000) + 1, int(rand() * 10000) + 1, int(rand() * 10) + 1 } }' \
  >"$WORK/feedback.csv"

sqlite3 "$WORK/import.db" <<'SQL' >/dev/null
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE feedback (request_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, user_id INTEGER NOT NULL,
  item_id INTEGER NOT NULL, position INTEGER NOT NULL, kind INTEGER NOT NULL, value REAL NOT NULL);
SQL
start=$(date +%s.%N)
sqlite3 "$WORK/import.db" -cmd "PRAGMA synchronous=FULL" ".import --csv $WORK/feedback.csv feedback"
end=$(date +%s.%N)
rows=$(sqlite3 "$WORK/import.db" "SELECT COUNT(*) FROM feedback")
[ "$rows" -eq "$N" ] || { echo "sqlite3 .import loaded $rows of $N rows" >&2; exit 1; }

steward_json=$("$STEWARD" bench ingest --events "$N" --sync full --json | tail -n 1)

python3 - "$N" "$start" "$end" "$steward_json" <<'PY'
import json, sys
n, start, end = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
steward = json.loads(sys.argv[4])
sqlite_rate = n / (end - start)
print(json.dumps({
    "events": n,
    "sqlite3_import_seconds": round(end - start, 4),
    "sqlite3_import_rows_per_sec": round(sqlite_rate),
    "steward_seconds": round(steward["seconds"], 4),
    "steward_events_per_sec": round(steward["events_per_sec"]),
    "ratio_steward_over_sqlite3": round(steward["events_per_sec"] / sqlite_rate, 3),
}))
PY
