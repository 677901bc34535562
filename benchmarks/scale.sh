#!/usr/bin/env bash
# The figures quoted in README.md "Performance": SQLite 10k (every scenario), then PostgreSQL with
# 10k, 100k and 1M clients (hot, cold, coverage; import at 10k). About 30 minutes on 2 cores.
# Usage: benchmarks/scale.sh [postgresql://postgres@127.0.0.1:5432/sg_bench]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
PG=${1:-postgresql://postgres@127.0.0.1:5432/sg_bench}
"$PY" -m benchmarks.run --rounds 5 --label sqlite-all
"$PY" -m benchmarks.run --database "$PG" --clients 10000 --scenarios hot,cold,coverage,import --label pg-10k
"$PY" -m benchmarks.run --database "$PG" --clients 100000 --scenarios hot,cold,coverage --label pg-100k
"$PY" -m benchmarks.run --database "$PG" --clients 1000000 --scenarios hot,cold,coverage --label pg-1m
