#!/usr/bin/env bash
# The pangyo power cut RUNS times (default 10) on STACK (default dual-site), one run after another on
# the stack left up, then every run's per-operation figures (bench/local_reads.py). Needs make images.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/chaos-harness}
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-10}
STACK=${STACK:-dual-site}
case $RUNS in ''|*[!0-9]*) echo "RUNS must be a whole number, got '$RUNS'" >&2; exit 2;; esac
out=runs/bench-local-reads
mkdir -p "$out"
before=$(ls "$out" 2>/dev/null | wc -l)
for i in $(seq "$RUNS"); do
  echo "== run $i of $RUNS on $STACK"
  # A verdict other than the expected one still leaves its figures; the summary says it.
  $HARNESS run experiments/pangyo-power-cut.yaml --stack "$STACK" --runs-dir "$out" | tail -1 || true
done
$PY bench/local_reads.py $(ls -d "$out"/*-"$STACK" | tail -n "$RUNS")
