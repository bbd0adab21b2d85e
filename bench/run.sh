#!/usr/bin/env bash
# Steady mixed load on dual-site at each user count in USERS (default "130 150"), then login's
# capacity; per-service figures of each in the steady state (after a warm-up), and where the CPU
# went (bench/cpu_split.py). Needs `make images`; brings the stack up first. Figures go to
# docs/benchmarks.md by hand, with date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/chaos-harness}
PY=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
report() { # experiment-name
  latest=$(ls -d runs/bench/*-"$1"-* | tail -1)
  $PY bench/report.py "$latest" --warmup "${WARMUP:-30}"
}
# Up first, so the CPU window below (45-85 s after each run starts) falls in the steady state.
$HARNESS up --stack dual-site | tail -1
for users in ${USERS:-130 150}; do
  case $users in ''|*[!0-9]*) echo "USERS must be whole numbers, got '$users'" >&2; exit 2;; esac
  sed -E "s/^  users: [0-9]+$/  users: $users/" bench/steady-load.yaml > "$tmp/steady-load.yaml"
  echo "== steady-load, $users users"
  $PY bench/cpu_split.py --stack dual-site --after 45 --window 40 > "$tmp/cpu.txt" &
  $HARNESS run "$tmp/steady-load.yaml" --runs-dir runs/bench | tail -3
  report steady-load
  wait
  cat "$tmp/cpu.txt"
done
echo "== login-capacity"
$HARNESS run bench/login-capacity.yaml --runs-dir runs/bench | tail -3
report login-capacity
