#!/usr/bin/env bash
# Steady mixed load on dual-site, then login's capacity; per-service figures of each in the steady
# state (after a warm-up). Needs `make images`; the first run brings the stack up.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/chaos-harness}
PY=${PY:-.venv/bin/python}
for exp in steady-load login-capacity; do
  $HARNESS run "bench/$exp.yaml" --runs-dir runs/bench | tail -3
  latest=$(ls -d runs/bench/*-"$exp"-* | tail -1)
  $PY bench/report.py "$latest" --warmup "${WARMUP:-30}"
done
