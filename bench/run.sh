#!/usr/bin/env bash
# `make bench`: micro-benchmarks, then durable ingest against sqlite3's .import in the same run.
set -euo pipefail
BUILD="${1:-build}"
echo "== micro-benchmarks (Google Benchmark)"
"$BUILD/bench/steward_micro_bench" --benchmark_min_time=0.2
echo "== durable ingest: steward vs sqlite3 .import (1,000,000 rows, WAL, synchronous=FULL)"
"$(dirname "$0")/ingest_vs_sqlite3.sh" "$BUILD/steward" 1000000
echo "== bandit, retrieval and the full pipeline (issue #4)"
"$BUILD/steward" bench bandit --dim 78 --json
"$BUILD/steward" bench retrieval --items 200000 --index HNSW32 --json
"$BUILD/steward" bench recommend --items 10000 --candidates 1000 --k 10 --json
echo "== assignment: steward vs the GrowthBook JS SDK (1,000,000 users, one thread)"
if command -v node >/dev/null 2>&1; then
  "$(dirname "$0")/assign_vs_growthbook_js.sh" "$BUILD/steward" 1000000
else
  echo "skipped: node is not installed"
fi
