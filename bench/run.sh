#!/usr/bin/env bash
# `make bench`: micro-benchmarks, then durable ingest against sqlite3's .import in the same run.
set -euo pipefail
BUILD="${1:-build}"
echo "== micro-benchmarks (Google Benchmark)"
"$BUILD/bench/steward_micro_bench" --benchmark_min_time=0.2
echo "== durable ingest: steward vs sqlite3 .import (1,000,000 rows, WAL, synchronous=FULL)"
"$(dirname "$0")/ingest_vs_sqlite3.sh" "$BUILD/steward" 1000000
