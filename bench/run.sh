#!/usr/bin/env bash
# Steady mixed load on dual-site at each user count in USERS (default "130 150"), then login's
# capacity (LOGIN_CAPACITY=0 skips it); per-service figures of each in the steady state (after a
# warm-up), and where the CPU went (bench/cpu_split.py). Needs `make images`; each run on a new
# stack. Figures go to docs/benchmarks.md by hand, with date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/chaos-harness}
PY=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A run whose verdict is not PASS (the harness exits non-zero) still gets its figures printed, with
# a warning: the figures are the point of a benchmark, and the verdict says what went wrong.
run() { # experiment-file
  $HARNESS run "$1" --runs-dir runs/bench | tail -3 ||
    echo "warning: the run's verdict was not PASS (see the journal above); its figures follow" >&2
}
report() { # experiment-name
  latest=$(ls -d runs/bench/*-"$1"-* | tail -1)
  $PY bench/report.py "$latest" --warmup "${WARMUP:-30}"
}
for users in ${USERS:-130 150}; do
  case $users in ''|*[!0-9]*) echo "USERS must be whole numbers, got '$users'" >&2; exit 2;; esac
done
# Each run on a new stack (down, then up): the database grows by tens of thousands of rows per run,
# and the workload's people read each room from its first message, so on a stack that served
# earlier runs every read returns a full page and the same load costs more CPU (a quarter of a core
# after five runs). Up before the run, so the CPU window (45-85 s after the start) is steady state.
# The same load cost up to a fifth more CPU in one hour than in another on this shared machine,
# every container alike: a fixed loop, timed while the stack is down, tells such runs apart.
speed() {
  $PY -c 'import time
def once():
    t = time.perf_counter(); sum(range(10_000_000)); return time.perf_counter() - t
print(f"machine speed: a fixed loop took {min(once() for _ in range(7)) * 1000:.0f} ms (best of 7; lower is faster)")'
}
fresh_stack() {
  $HARNESS down --stack dual-site | tail -1
  speed
  $HARNESS up --stack dual-site | tail -1
}
for users in ${USERS:-130 150}; do
  fresh_stack
  sed -E "s/^  users: [0-9]+$/  users: $users/" bench/steady-load.yaml > "$tmp/steady-load.yaml"
  echo "== steady-load, $users users"
  $PY bench/cpu_split.py --stack dual-site --after 45 --window 40 > "$tmp/cpu.txt" &
  run "$tmp/steady-load.yaml"
  report steady-load
  wait
  cat "$tmp/cpu.txt"
done
[ "${LOGIN_CAPACITY:-1}" = 0 ] && exit 0
echo "== login-capacity"
fresh_stack
run bench/login-capacity.yaml
report login-capacity
