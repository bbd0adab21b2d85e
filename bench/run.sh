#!/usr/bin/env bash
# Steady mixed load on dual-site, then the per-service figures. Needs `make images`.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/chaos-harness}
$HARNESS run bench/steady-load.yaml --runs-dir runs/bench | tail -3
latest=$(ls -d runs/bench/*steady-load* | tail -1)
python3 bench/report.py "$latest"
